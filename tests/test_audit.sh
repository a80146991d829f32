#!/bin/sh
# bak2pg audit (issue 14): planted problems in a generated backup are found, each by kind and
# with its sample; a clean generated backup has no findings (no false positives); --json is
# valid JSON; --html passes libxml2's HTML parser, holds no script and nothing fetched, escapes
# backup text, and renders to a non-blank PNG in headless Chromium when /usr/bin/chromium exists
# (skipped loudly otherwise); audit completes on every backup of the fixture corpus.
# Run by `make check` (B2P_BIN: the bak2pg under test) from the repository root.
set -u
bin=${B2P_BIN:-./bak2pg}
variant=${B2P_VARIANT:-plain}
mkbak=build/$variant/mkbak
[ -x "$mkbak" ] || ${MAKE:-make} -s "$mkbak" > /dev/null || { echo "FAIL: cannot build $mkbak"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 skipped=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$mkbak" tests/audit/planted.desc "$tmp/planted.bak" || fail "mkbak planted.desc"
"$mkbak" tests/audit/clean.desc "$tmp/clean.bak" || fail "mkbak clean.desc"

# ---- planted: each kind found, with its samples -----------------------------------------
"$bin" audit -q "$tmp/planted.bak" > "$tmp/p.txt" 2> "$tmp/p.err"; rc=$?
[ $rc -eq 0 ] || fail "audit planted: exit $rc: $(cat "$tmp/p.err")"
expect() { grep -qF -- "$1" "$tmp/p.txt" || fail "audit planted: no line '$1' in: $(sed -n '/finding/,$p' "$tmp/p.txt")"; }
expect "orphan-fk: dbo.Orders FK_Orders_Customer: 1 rows"
expect "e.g. 'ZZ'"
expect "padding-case-match: dbo.Orders FK_Orders_Customer: 2 rows"
expect "e.g. 'AB '"
expect "e.g. 'cd'"
expect "future-date: dbo.Customer Joined: 1 "
expect "e.g. '2099-01-01 00:00:00'"
expect "bad-email: dbo.Customer Email: 1 "
expect "e.g. 'not-an-email'"
expect "numeric-near-limit: dbo.Orders Amount: 1 "
grep -q "^5 findings:" "$tmp/p.txt" || fail "audit planted: not exactly the 5 planted findings: $(sed -n '/finding/,$p' "$tmp/p.txt")"
grep -q "bad-phone" "$tmp/p.txt" && fail "audit planted: a phone flagged (all fit): $(grep bad-phone "$tmp/p.txt")"
# per-column figures: Orders.CustomerCode holds one NULL in 6 rows, 5 distinct values
grep -Eq "^  CustomerCode +nulls 1 \(16\.7%\), ~5 distinct, longest 3, min AB, max cd" "$tmp/p.txt" ||
    fail "audit planted: CustomerCode's figures: $(grep CustomerCode "$tmp/p.txt")"
grep -q "^dbo.Orders: 6 rows" "$tmp/p.txt" || fail "audit planted: Orders' row count: $(grep '^dbo.Orders' "$tmp/p.txt")"

# -j 2: the same report (a child still after its parent, so its keys are checked)
"$bin" audit -q -j 2 "$tmp/planted.bak" > "$tmp/p2.txt" 2>&1 || fail "audit -j 2: exit $?"
cmp -s "$tmp/p.txt" "$tmp/p2.txt" || fail "audit -j 2 differs from -j 1: $(diff "$tmp/p.txt" "$tmp/p2.txt" | head -n 5)"

# ---- clean: nothing found -------------------------------------------------------------------
"$bin" audit -q "$tmp/clean.bak" > "$tmp/c.txt" 2>&1; rc=$?
[ $rc -eq 0 ] || fail "audit clean: exit $rc"
grep -q "^0 findings" "$tmp/c.txt" || fail "audit clean: false positives: $(sed -n '/finding/,$p' "$tmp/c.txt")"

# ---- --json and --html ------------------------------------------------------------------------
"$bin" audit -q --json --html "$tmp/a.html" "$tmp/planted.bak" > "$tmp/a.json"; rc=$?
[ $rc -eq 0 ] || fail "audit --json --html: exit $rc"
if command -v python3 > /dev/null; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); k=sorted(f["kind"] for f in d["findings"]); sys.exit(k != ["bad-email","future-date","numeric-near-limit","orphan-fk","padding-case-match"])' "$tmp/a.json" ||
        fail "audit --json: not valid JSON or not the 5 findings"
fi
"$bin" audit -q --html "$tmp/a.html" "$tmp/planted.bak" > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] || fail "audit --html over an existing file: exit $rc, not 2 (never overwritten)"
if command -v xmllint > /dev/null; then
    xmllint --html --noout "$tmp/a.html" 2> "$tmp/x.err" || fail "xmllint --html: $(cat "$tmp/x.err")"
    # libxml2's HTML parser is HTML 4's: it knows no inline SVG and says "Tag svg invalid" for
    # each SVG element; any other complaint fails
    grep "parser error" "$tmp/x.err" | grep -Ev "Tag (svg|line|rect|text|title) invalid" > "$tmp/x.bad"
    [ -s "$tmp/x.bad" ] && fail "libxml2's HTML parser complains: $(head -n 5 "$tmp/x.bad")"
    grep -q "Tag svg invalid" "$tmp/x.err" || fail "libxml2's HTML parser saw no SVG"
    n=$(xmllint --html --xpath 'count(//svg)' "$tmp/a.html" 2> /dev/null)
    [ "$n" = 2 ] || fail "HTML: $n SVG charts, not 2 (rows per table, NULL heat map)"
else
    echo "SKIP: xmllint (libxml2-utils) absent: the HTML is not parsed"; skipped=$((skipped + 1))
fi
grep -qi "<script" "$tmp/a.html" && fail "HTML holds a script"
grep -Eqi '(src|href)="(https?:)?//' "$tmp/a.html" && fail "HTML fetches something"
grep -q "sha256" "$tmp/a.html" && grep -q "$(sha256sum "$tmp/planted.bak" | cut -c1-64)" "$tmp/a.html" ||
    fail "HTML does not hold the backup's sha256"

# backup text is escaped: a table and a value holding markup
cat > "$tmp/hostile.desc" <<'DESC'
database "<b>x</b>"
table dbo."<script>alert(1)</script>"
  column "a&b" varchar(40) not null seq
  primary key ("a&b") clustered
  row "<img src=x onerror=alert(1)>"
end
DESC
"$mkbak" "$tmp/hostile.desc" "$tmp/hostile.bak" || fail "mkbak hostile.desc"
"$bin" audit -q --html "$tmp/h.html" "$tmp/hostile.bak" > /dev/null || fail "audit --html hostile"
grep -q "<script>\|<img\|<b>x" "$tmp/h.html" && fail "HTML: backup text not escaped"
grep -q "&lt;script&gt;alert(1)&lt;/script&gt;" "$tmp/h.html" || fail "HTML: the table's name not shown escaped"

# rendered in a real browser, not blank
if [ -x /usr/bin/chromium ] && command -v python3 > /dev/null; then
    HOME=$tmp timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size=1200,1600 --screenshot="$tmp/a.png" "file://$tmp/a.html" > /dev/null 2>&1
    if [ -s "$tmp/a.png" ]; then
        python3 - "$tmp/a.png" <<'PY' || fail "Chromium's rendering of the HTML is blank"
import sys, zlib, struct
d = open(sys.argv[1], 'rb').read()
assert d[:8] == b'\x89PNG\r\n\x1a\n'
pos, idat, w, h = 8, b'', 0, 0
while pos < len(d):
    n, t = struct.unpack('>I4s', d[pos:pos + 8]); body = d[pos + 8:pos + 8 + n]
    if t == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
    if t == b'IDAT': idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
# count distinct byte values over the image's rows: a blank page is one colour
sys.exit(0 if len(set(raw[::97])) > 8 else 1)
PY
    else
        fail "Chromium wrote no screenshot"
    fi
else
    echo "SKIP: /usr/bin/chromium absent: the HTML is not rendered (apt-get install chromium)"; skipped=$((skipped + 1))
fi

# ---- the corpus: audit completes on every backup ---------------------------------------------
fx=${B2P_FIXTURES:-../shared/fixtures}
if [ -d "$fx" ]; then
    for f in "$fx"/*.bak; do
        "$bin" audit -q --json "$f" > "$tmp/f.json" 2> "$tmp/f.err"; rc=$?
        case $rc in
        0|14) ;;                       # 14: some table's rows not decodable yet (named)
        4|7|9|10|11|15) ;;             # not a database backup alone: a stripe, a differential, ...
        *) fail "audit $(basename "$f"): exit $rc: $(head -n 3 "$tmp/f.err")" ;;
        esac
    done
else
    echo "SKIP: no fixture corpus at $fx (make corpus)"; skipped=$((skipped + 1))
fi

[ $skipped -gt 0 ] && echo "[  SKIPPED ] $skipped test(s)"
[ $fails -eq 0 ] && echo "test_audit: all passed" || echo "test_audit: $fails failure(s)"
[ $fails -eq 0 ]
