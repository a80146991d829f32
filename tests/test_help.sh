#!/bin/sh
# `bak2pg help CMD` is CMD's own help, `bak2pg help` the top-level one, an unknown CMD a usage
# error; a bad option is reported once, by bak2pg, not by getopt first and bak2pg after.
# Run by `make check` (B2P_BIN: the bak2pg under test) from the repository root.
set -u
bin=${B2P_BIN:-./bak2pg}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

commands=$("$bin" --help | awk '/^commands:$/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
[ -n "$commands" ] || fail "bak2pg --help lists no commands"

"$bin" help > "$tmp/help" 2> "$tmp/err"; rc=$?
"$bin" --help > "$tmp/top"
[ $rc -eq 0 ] || fail "bak2pg help: exit $rc, not 0"
cmp -s "$tmp/help" "$tmp/top" || fail "bak2pg help differs from bak2pg --help"

for c in $commands; do
    "$bin" help "$c" > "$tmp/h1" 2> "$tmp/err"; rc=$?
    "$bin" "$c" --help > "$tmp/h2"
    [ $rc -eq 0 ] || fail "bak2pg help $c: exit $rc"
    cmp -s "$tmp/h1" "$tmp/h2" || fail "bak2pg help $c differs from bak2pg $c --help"
    head -n 1 "$tmp/h1" | grep -q "^usage: bak2pg $c " || fail "bak2pg help $c does not start with its usage: $(head -n 1 "$tmp/h1")"
    [ -s "$tmp/err" ] && fail "bak2pg help $c wrote on stderr: $(cat "$tmp/err")"

    # a bad long option, a bad short one, an option without its argument: one message each
    for bad in --bogus-option -Z --backup-set; do
        "$bin" "$c" "$bad" > /dev/null 2> "$tmp/err"; rc=$?
        [ $rc -eq 2 ] || fail "bak2pg $c $bad: exit $rc, not 2 (usage)"
        if grep -Eq 'unrecognized option|invalid option|requires an argument' "$tmp/err"; then
            fail "bak2pg $c $bad: getopt printed its own message: $(head -n 1 "$tmp/err")"
        fi
        n=$(grep -c "^bak2pg $c: " "$tmp/err")
        [ "$n" -eq 1 ] || fail "bak2pg $c $bad: $n messages of bak2pg $c, not 1: $(cat "$tmp/err")"
    done
done

"$bin" help frobnicate > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "bak2pg help frobnicate: exit $rc, not 2"
grep -q frobnicate "$tmp/err" || fail "bak2pg help frobnicate does not name it: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "bak2pg help frobnicate printed help on stdout"
"$bin" help info schema > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "bak2pg help info schema: exit $rc, not 2"

if [ $fails -ne 0 ]; then
    echo "test_help: $fails failure(s)"
    exit 1
fi
echo "test_help: passed ($(echo $commands | wc -w) commands)"
