# bak2pg build. `make` builds ./bak2pg and build/plain/mkbak (the backup writer); `make check` installs what is missing, then builds and
# runs every test twice (plain, and under AddressSanitizer + UndefinedBehaviorSanitizer), then
# builds every fuzz target and runs it for 5 s; `make demo` shows the tool on a backup;
# `make fuzz` runs each fuzz target for FUZZ_SECONDS (60);
# `make bench` measures throughput and memory (never part of check); `make corpus` fetches the
# real backups of the fixture corpus; `make install` / `make uninstall` (PREFIX, DESTDIR).

# The first rule below comes out of the variant macro (build/plain/libb2p.a): without this, a bare
# `make` would build only the library.
.DEFAULT_GOAL := all

CC       ?= cc
PKGS     := libzstd libpq libxml-2.0 libxxhash libcrypto
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
DEFS     := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64
OPT      ?= -O2 -g
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# The fixture corpus: FIXTURES=DIR or B2P_FIXTURES=DIR (either; the tests read B2P_FIXTURES).
FIXTURES ?= $(if $(B2P_FIXTURES),$(B2P_FIXTURES),$(abspath ../shared/fixtures))
export B2P_FIXTURES := $(FIXTURES)

LIB_SRC  := $(sort $(wildcard base/*.c mtf/*.c pages/*.c catalog/*.c emit/*.c audit/*.c parquet/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# One build tree per variant: build/plain and build/san.
define variant
$(1)_DIR    := build/$(1)
$(1)_CFLAGS := $$(WARN) $$(DEFS) $$(OPT) $(2) $$(PKG_CFLAGS) -I. -MMD -MP
$(1)_LIB    := build/$(1)/libb2p.a
$(1)_OBJ    := $$(LIB_SRC:%.c=build/$(1)/%.o)
$(1)_CLIOBJ := $$(CLI_SRC:%.c=build/$(1)/%.o)
$(1)_SUPOBJ := $$(SUPPORT_SRC:%.c=build/$(1)/%.o)
$(1)_TESTS  := $$(TEST_SRC:tests/%.c=build/$(1)/tests/%)

build/$(1)/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$($(1)_CFLAGS) -c $$< -o $$@

$$($(1)_LIB): $$($(1)_OBJ)
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^

build/$(1)/bak2pg: $$($(1)_CLIOBJ) $$($(1)_LIB)
	$$(CC) $(2) -o $$@ $$^ $$(PKG_LIBS) -lpthread -lm

build/$(1)/tests/%: build/$(1)/tests/%.o $$($(1)_SUPOBJ) $$($(1)_LIB)
	$$(CC) $(2) -o $$@ $$^ $$(PKG_LIBS) $$(shell pkg-config --libs cmocka) -lpthread -lm

-include $$($(1)_OBJ:.o=.d) $$($(1)_CLIOBJ:.o=.d) $$($(1)_SUPOBJ:.o=.d) $$($(1)_TESTS:=.d)
endef

$(eval $(call variant,plain,))
$(eval $(call variant,san,$(SAN)))

.PHONY: all deps check test-plain test-san demo fuzz bench corpus install uninstall clean
.SECONDARY:

all: bak2pg build/plain/mkbak build/man/bak2pg.1

# The man page is made from the help texts of the binary just built (tools/mkman), so that it
# says what --help says.
build/man/bak2pg.1: bak2pg tools/mkman
	@mkdir -p $(dir $@)
	sh tools/mkman ./bak2pg > $@.tmp && mv $@.tmp $@

bak2pg: build/plain/bak2pg
	cp $< $@

deps:
	@sh .ci/setup-deps

# Each test program (tests/test_*.c built, tests/test_*.sh as they are) runs from the repository
# root; B2P_BIN names the bak2pg of the same variant. Its output is also kept in build/VARIANT/
# test.log so that the skipped tests can be counted: cmocka's "[  SKIPPED ] N test(s)" summary
# lines (the shell tests print the same), summed into build/VARIANT/skipped.
define run_tests
	@set -e; failed=0; skipped=0; for t in $(1); do \
	  echo "== $$t"; start=$$(date +%s); \
	  { rc=0; case $$t in *.sh) run="sh $$t" ;; *) run=$$t ;; esac; \
	    B2P_BIN=$(2) B2P_VARIANT=$(3) MAKE="$(MAKE)" $$run 2>&1 || rc=$$?; echo $$rc > build/$(3)/test.rc; } \
	    | tee build/$(3)/test.log; \
	  n=$$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) test(s).*/\1/p' build/$(3)/test.log | head -n 1); \
	  skipped=$$((skipped + $${n:-0})); echo "-- $$t: $$(( $$(date +%s) - start )) s"; \
	  if [ "$$(cat build/$(3)/test.rc)" != 0 ]; then failed=$$((failed+1)); fi; \
	done; \
	echo $$skipped > build/$(3)/skipped; \
	if [ $$failed -ne 0 ]; then echo "$$failed test program(s) failed ($(3))"; exit 1; fi
endef

SH_TESTS := $(sort $(wildcard tests/test_*.sh))

test-plain: build/plain/bak2pg $(plain_TESTS)
	$(call run_tests,$(plain_TESTS) $(SH_TESTS),$(abspath build/plain/bak2pg),plain)

test-san: build/san/bak2pg $(san_TESTS)
	$(call run_tests,$(san_TESTS) $(SH_TESTS),$(abspath build/san/bak2pg),san)

check: deps
	$(MAKE) bak2pg
	$(MAKE) test-plain
	$(MAKE) test-san
	$(MAKE) fuzz FUZZ_SECONDS=5
	@echo "check: all test programs passed in both builds (plain, sanitizers); every fuzz target builds and ran 5 s"
	@echo "check: $$(cat build/plain/skipped) test(s) skipped in the plain build, $$(cat build/san/skipped) under the sanitizers"
	@[ -r "$(FIXTURES)/MANIFEST.tsv" ] || echo "check: SKIPPED $$(($$(cat build/plain/skipped) + $$(cat build/san/skipped))) tests that read real backups: no fixture corpus at $(FIXTURES). 'make corpus' fetches its backups there (FIXTURES=DIR for another place; the tests also need the corpus's MANIFEST.tsv and truth/, which come with ../shared, README \"The fixture corpus\"); see the SKIPPED lines above"

demo: deps
	$(MAKE) bak2pg fixtures/demo.bak
	sh .ci/demo

FUZZ_SECONDS ?= 60
fuzz: deps
	sh .ci/fuzz $(FUZZ_SECONDS)

# .ci/bench runs bak2pg, and mkbak for its pipeline part
bench: deps
	$(MAKE) bak2pg build/plain/mkbak
	sh .ci/bench

# The real backups of the fixture corpus, from the public repositories fixtures/corpus.tsv names
# (at the commits it pins), each checked against its sha256; files already there are kept.
corpus:
	sh tools/fetch-corpus fixtures/corpus.tsv "$(FIXTURES)"

# make install [PREFIX=/usr/local] [DESTDIR=...]: the binary, its man page and its completions.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
INSTALLED  := $(BINDIR)/bak2pg $(MANDIR)/man1/bak2pg.1 $(BASHCOMPDIR)/bak2pg $(ZSHCOMPDIR)/_bak2pg

install: bak2pg build/man/bak2pg.1
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)"
	install -m 755 bak2pg "$(DESTDIR)$(BINDIR)/bak2pg"
	install -m 644 build/man/bak2pg.1 "$(DESTDIR)$(MANDIR)/man1/bak2pg.1"
	install -m 644 completion/bak2pg.bash "$(DESTDIR)$(BASHCOMPDIR)/bak2pg"
	install -m 644 completion/_bak2pg "$(DESTDIR)$(ZSHCOMPDIR)/_bak2pg"

uninstall:
	rm -f $(INSTALLED:%="$(DESTDIR)%")

clean:
	rm -rf build bak2pg

# mkbak: writes SQL Server backups from a description (tests/support/db_gen.h), for
# fixtures/demo.bak, round-trip tests and benchmarks. Built from the library and the parts of
# tests/support it needs (no cmocka).
MKBAK_SUP := db_gen db_writer mtf_writer records xpress_encode
build/plain/mkbak: build/plain/tests/mkbak/mkbak.o $(MKBAK_SUP:%=build/plain/tests/support/%.o) $(plain_LIB)
	$(CC) -o $@ $^ $(PKG_LIBS) -lpthread -lm
build/san/mkbak: build/san/tests/mkbak/mkbak.o $(MKBAK_SUP:%=build/san/tests/support/%.o) $(san_LIB)
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS) -lpthread -lm
-include build/plain/tests/mkbak/mkbak.d build/san/tests/mkbak/mkbak.d

# fixtures/demo.bak is made, not committed: 2.6 MB of pages that the description and the writer
# determine byte for byte (same description, same bytes), so git keeps only fixtures/demo.desc.
fixtures/demo.bak: fixtures/demo.desc build/plain/mkbak
	build/plain/mkbak fixtures/demo.desc $@

# DuckDB for the Parquet read-back test (tests/test_parquet skips loudly without it): a test-only
# npm package, installed into build/npm, never into the tool.
.PHONY: duckdb
duckdb:
	@command -v npm >/dev/null || { echo "duckdb: SKIPPED: npm is not installed"; exit 0; }; \
	  [ -d build/npm/node_modules/@duckdb/node-api ] || npm install --prefix build/npm --no-audit --no-fund @duckdb/node-api
