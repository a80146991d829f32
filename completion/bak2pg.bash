# bash completion for bak2pg.
#
# Nothing here names a command or an option: both are read, at completion time, from the
# bak2pg being completed (`bak2pg --help`'s "commands:" list, `bak2pg help CMD`'s "options:"
# lines), so the completion is always that of the binary installed, never of an older copy.

# _bak2pg_commands BIN: the subcommand names, one a line.
_bak2pg_commands() {
    "$1" --help 2>/dev/null | awk '
        /^commands:$/ { on = 1; next }
        on && /^$/ { exit }
        on && /^  [a-z]/ { print $1 }'
}

# _bak2pg_options BIN CMD: CMD's options, one a line: the option, a tab, the name of its
# argument ("" for none), a tab, the first line of its description. An option line is one
# that starts with a dash at an indent of one to four spaces inside "options:" (deeper lines
# continue a description and may quote other options: they are not read).
_bak2pg_options() {
    "$1" help "$2" 2>/dev/null | awk '
        /^[A-Za-z][A-Za-z ]*:$/ { on = ($0 == "options:"); next }
        on && /^$/ { on = 0; next }
        on && /^ +-/ && match($0, /^ +/) && RLENGTH <= 4 {   # (mawk has no /{1,4}/)
            line = substr($0, RLENGTH + 1)
            spec = line; desc = ""
            if (match(line, /   *[^ ]/)) {        # two or more spaces end the option part
                spec = substr(line, 1, RSTART - 1)
                desc = substr(line, RSTART + RLENGTH - 1)
            }
            # "-o, --output DIR": the argument, named once at the end, is that of every spelling
            n = split(spec, alt, /, /); arg = ""
            for (i = 1; i <= n; i++) {
                if (match(alt[i], /[ =[]/)) {   # "--x ARG", "--x=ARG", "--x[=ARG]"
                    arg = substr(alt[i], RSTART + 1); alt[i] = substr(alt[i], 1, RSTART - 1)
                    sub(/^=/, "", arg); sub(/]$/, "", arg)
                }
            }
            for (i = 1; i <= n; i++)
                if (alt[i] ~ /^--?[A-Za-z0-9]/) printf "%s\t%s\t%s\n", alt[i], arg, desc
        }'
}

# _bak2pg_files: backup files (and directories, to walk into) matching the current word.
_bak2pg_files() {
    local IFS=$'\n' f
    COMPREPLY=()
    for f in $(compgen -f -- "$cur"); do
        if [[ -d $f ]]; then
            COMPREPLY+=("$f/")
        else
            case ${f,,} in
                *.bak | *.trn | *.bk | *.bkp | *.backup) COMPREPLY+=("$f") ;;
            esac
        fi
    done
    # no backup file here: offer every file rather than nothing
    [[ ${#COMPREPLY[@]} -eq 0 ]] && mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    compopt -o nospace -o filenames 2>/dev/null
}

_bak2pg() {
    local bin=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=""
    [[ $COMP_CWORD -gt 0 ]] && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    # the subcommand: the first word after bak2pg
    if [[ $COMP_CWORD -eq 1 ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_bak2pg_commands "$bin") help" -- "$cur")
        return
    fi
    local cmd=${COMP_WORDS[1]}
    if [[ $cmd == help ]]; then
        [[ $COMP_CWORD -eq 2 ]] && mapfile -t COMPREPLY < <(compgen -W "$(_bak2pg_commands "$bin")" -- "$cur")
        return
    fi

    local opts
    opts=$(_bak2pg_options "$bin" "$cmd")
    [[ -z $opts ]] && { _bak2pg_files; return; }  # not a command bak2pg knows

    # the argument of the option before: its name in the help says what it is
    if [[ $prev == -* ]]; then
        local arg
        arg=$(awk -F '\t' -v o="$prev" '$1 == o { print $2; exit }' <<<"$opts")
        case $arg in
            "") ;;                                # takes none: fall through
            DIR*) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); compopt -o filenames 2>/dev/null; return ;;
            FILE*) _bak2pg_files; return ;;
            *[A-Z]*) return ;;                    # a placeholder (N, PATTERN, CONNINFO): no guess
            *) mapfile -t COMPREPLY < <(compgen -W "${arg//|/ }" -- "$cur"); return ;;  # choices
        esac
    fi

    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(cut -f 1 <<<"$opts")" -- "$cur")
        return
    fi
    _bak2pg_files
}

complete -F _bak2pg bak2pg
