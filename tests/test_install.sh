#!/bin/sh
# `make install` puts every file where it belongs; the man page renders and names every command
# and option of the help; the bash and zsh completions, run as the shells run them, complete
# commands and options read from the installed binary; `make uninstall` removes it all.
# Run by `make check` from the repository root (MAKE: the make to use).
set -u
make=${MAKE:-make}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fails=0
skips=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
skip() { echo "SKIPPED: $*"; skips=$((skips + 1)); }

if ! $make -s install DESTDIR="$dest" PREFIX=/usr > "$dest.log" 2>&1; then
    cat "$dest.log"; rm -f "$dest.log"
    echo "FAIL: make install DESTDIR=$dest PREFIX=/usr failed"
    exit 1
fi
rm -f "$dest.log"
bin=$dest/usr/bin/bak2pg
man=$dest/usr/share/man/man1/bak2pg.1
bashc=$dest/usr/share/bash-completion/completions/bak2pg
zshc=$dest/usr/share/zsh/site-functions/_bak2pg
for f in "$bin" "$man" "$bashc" "$zshc"; do
    [ -f "$f" ] || fail "make install did not install ${f#"$dest"}"
done
[ -x "$bin" ] || fail "${bin#"$dest"} is not executable"
"$bin" --version > /dev/null || fail "the installed bak2pg does not run"

commands=$("$bin" --help | awk '/^commands:$/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
[ -n "$commands" ] || fail "bak2pg --help lists no commands"

# ---- the man page: man renders it, and it holds every command and every option of the help
if command -v man > /dev/null 2>&1; then
    MANWIDTH=80 man -l "$man" > "$dest/man.txt" 2> "$dest/man.err" || fail "man -l bak2pg.1 failed: $(cat "$dest/man.err")"
    grep -q '^NAME' "$dest/man.txt" || fail "the man page has no NAME section"
    for s in SYNOPSIS DESCRIPTION COMMANDS 'EXIT STATUS' ENVIRONMENT 'SEE ALSO'; do
        grep -q "^$s" "$dest/man.txt" || fail "the man page has no $s section"
    done
    # man may hyphenate and join words: compare against its text with hyphenation undone
    tr -d '\n' < "$dest/man.txt" | sed 's/‐ *//g; s/- \{2,\}//g' > "$dest/man.flat"
    for c in $commands; do
        grep -q "^   $c\$" "$dest/man.txt" || fail "the man page has no subsection for $c"
        for o in $("$bin" help "$c" | sed -n 's/^ \{1,4\}\(-[-A-Za-z0-9]*\).*/\1/p'); do
            grep -q -- "$o" "$dest/man.flat" || fail "the man page lacks $c's option $o"
        done
    done
    grep -q -- '--check' "$dest/man.txt" || fail "the man page does not show --check"
else
    skip "man is not installed (.ci/setup-deps installs man-db): the man page was not rendered"
fi

# ---- bash: the completion function as bash calls it, with COMP_WORDS and COMP_CWORD
if command -v bash > /dev/null 2>&1; then
    # complete WORDS...: what _bak2pg offers for the last word, one per line
    cat > "$dest/complete.bash" <<'EOF'
. "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
_bak2pg
printf '%s\n' "${COMPREPLY[@]}"
EOF
    complete_bash() { bash "$dest/complete.bash" "$bashc" "$bin" "$@"; }
    got=$(complete_bash conv)
    [ "$got" = convert ] || fail "bash: 'bak2pg conv<TAB>' gave '$got', not 'convert'"
    got=$(complete_bash convert --ou)
    [ "$got" = --output ] || fail "bash: 'bak2pg convert --ou<TAB>' gave '$got', not '--output'"
    got=$(complete_bash help ver)
    [ "$got" = verify ] || fail "bash: 'bak2pg help ver<TAB>' gave '$got', not 'verify'"
    got=$(complete_bash dump --format '' | tr '\n' ' ')
    [ "$got" = "copy csv jsonl " ] || fail "bash: 'bak2pg dump --format <TAB>' gave '$got'"
    got=$(complete_bash '' | sort | tr '\n' ' ')
    want=$(printf '%s\n' $commands help | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "bash: 'bak2pg <TAB>' gave '$got', not '$want'"
    # every option of every command's help, and nothing else
    for c in $commands; do
        got=$(complete_bash "$c" - | sort -u | tr '\n' ' ')
        want=$("$bin" help "$c" | sed -n '/^options:$/,/^$/p' | grep -E '^ {1,4}-' |
            sed 's/^ *//; s/  .*//' | tr ', ' '\n\n' | sed -n 's/^\(--*[A-Za-z0-9][-A-Za-z0-9]*\).*/\1/p' |
            sort -u | tr '\n' ' ')
        [ "$got" = "$want" ] || fail "bash: 'bak2pg $c -<TAB>' gave '$got', its help lists '$want'"
    done
    # a file argument: backup files and directories, from the current directory
    mkdir -p "$dest/cwd/sub" && : > "$dest/cwd/North.bak" && : > "$dest/cwd/notes.txt"
    got=$(cd "$dest/cwd" && complete_bash info N)
    [ "$got" = North.bak ] || fail "bash: 'bak2pg info N<TAB>' gave '$got', not 'North.bak'"
    got=$(cd "$dest/cwd" && complete_bash info '' | sort | tr '\n' ' ')
    [ "$got" = "North.bak sub/ " ] || fail "bash: 'bak2pg info <TAB>' gave '$got', not 'North.bak sub/'"
else
    skip "bash is not installed: the bash completion was not run"
fi

# ---- zsh: the completion system itself, in an interactive zsh on a pseudo-terminal (zpty),
# with compadd wrapped to print what it is given
if command -v zsh > /dev/null 2>&1 && zsh -fc 'zmodload zsh/zpty' 2> /dev/null; then
    zsh -n "$zshc" || fail "zsh: _bak2pg does not parse"
    cat > "$dest/complete.zsh" <<'EOF'
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1=''; PATH=$1:\$PATH; fpath=($2 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() { builtin compadd -O __m "$@"; print -rl -- "<""M>"${^__m}"<""E>"; builtin compadd "$@"; }'
zpty -w z "$3"$'\t'
out=
for i in 1 2 3 4 5 6 7 8 9 10; do
    sleep 0.3
    while zpty -r -t z line; do out+=$line; done
    [[ $out == *'<M>'* ]] && { sleep 0.3; while zpty -r -t z line; do out+=$line; done; break }
done
print -r -- "$out" | tr -d '\r' | grep -ao '<M>[^<]*<E>' | sed 's/^<M>//; s/<E>$//' | sort -u
zpty -d z
EOF
    complete_zsh() { zsh -f "$dest/complete.zsh" "$dest/usr/bin" "${zshc%/*}" "$1"; }
    got=$(complete_zsh 'bak2pg conv')
    [ "$got" = convert ] || fail "zsh: 'bak2pg conv<TAB>' gave '$got', not 'convert'"
    got=$(complete_zsh 'bak2pg convert --ou')
    [ "$got" = --output ] || fail "zsh: 'bak2pg convert --ou<TAB>' gave '$got', not '--output'"
    got=$(complete_zsh 'bak2pg dump --format ' | tr '\n' ' ')
    [ "$got" = "copy csv jsonl " ] || fail "zsh: 'bak2pg dump --format <TAB>' gave '$got'"
else
    skip "zsh (with zsh/zpty) is not installed (.ci/setup-deps installs it): the zsh completion was not run"
fi

# ---- uninstall
$make -s uninstall DESTDIR="$dest" PREFIX=/usr > /dev/null || fail "make uninstall failed"
left=$(find "$dest/usr" -type f 2> /dev/null)
[ -z "$left" ] || fail "make uninstall left: $left"

# the summary line make check counts skips from (cmocka's form)
[ $skips -gt 0 ] && echo "[  SKIPPED ] $skips test(s), listed above"
if [ $fails -ne 0 ]; then
    echo "test_install: $fails failure(s)"
    exit 1
fi
echo "test_install: passed"
