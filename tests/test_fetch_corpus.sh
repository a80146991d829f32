#!/bin/sh
# tools/fetch-corpus (`make corpus`) against a local mirror (file://), so that it runs without
# the network: fetches and checks every file, a second run fetches nothing, a file with the
# wrong hash is fetched again, an LFS pointer is followed to the content, and a missing or
# damaged download is one line naming the file, the rest still fetched, exit 1.
# Also: fixtures/corpus.tsv names every backup of the corpus, when the corpus is here.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
fetch() { B2P_CORPUS_URL=file://$tmp/raw B2P_CORPUS_LFS_URL=file://$tmp/lfs sh tools/fetch-corpus "$tmp/list.tsv" "$tmp/out"; }
tab=$(printf '\t')

# four files in two repositories, one in a folder with a space and UTF-8 in its name
mkdir -p "$tmp/raw/o1/r1/c1/sub dir é" "$tmp/raw/o2/r2/c2" "$tmp/lfs/o2/r2/c2"
printf 'first backup\n' > "$tmp/raw/o1/r1/c1/a.bak"
printf 'second backup\n' > "$tmp/raw/o1/r1/c1/sub dir é/b.bak"
printf 'third\n' > "$tmp/raw/o2/r2/c2/c.trn"
printf 'lfs content\n' > "$tmp/lfs/o2/r2/c2/d.bak"
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 12\n' > "$tmp/raw/o2/r2/c2/d.bak"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(wc -c < "$5" | tr -d ' ')" "$(sha256sum "$5" | cut -d ' ' -f 1)"; }
{
    echo "# a comment"
    printf 'file\tsource_repo\tcommit\tpath_in_repo\tbytes\tsha256\n'
    row a.bak o1/r1 c1 a.bak "$tmp/raw/o1/r1/c1/a.bak"
    row b.bak o1/r1 c1 "sub dir é/b.bak" "$tmp/raw/o1/r1/c1/sub dir é/b.bak"
    row c.trn o2/r2 c2 c.trn "$tmp/raw/o2/r2/c2/c.trn"
    row d.bak o2/r2 c2 d.bak "$tmp/lfs/o2/r2/c2/d.bak"
} > "$tmp/list.tsv"

fetch > "$tmp/log" 2>&1 || fail "first run failed: $(cat "$tmp/log")"
for f in a.bak b.bak c.trn d.bak; do [ -f "$tmp/out/$f" ] || fail "first run did not fetch $f"; done
cmp -s "$tmp/out/d.bak" "$tmp/lfs/o2/r2/c2/d.bak" || fail "the LFS pointer was not followed to its content"
grep -q '4 fetched, 0 already there, 0 failed' "$tmp/log" || fail "first run: $(tail -n 1 "$tmp/log")"

fetch > "$tmp/log" 2>&1 || fail "second run failed: $(cat "$tmp/log")"
grep -q '0 fetched, 4 already there, 0 failed' "$tmp/log" || fail "second run is not idempotent: $(tail -n 1 "$tmp/log")"

# a local file with the wrong hash is replaced; a download missing or damaged fails alone
echo wrong > "$tmp/out/a.bak"
rm "$tmp/out/b.bak" "$tmp/out/c.trn" "$tmp/raw/o1/r1/c1/sub dir é/b.bak"
echo damaged >> "$tmp/raw/o2/r2/c2/c.trn"
fetch > "$tmp/log" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "a failed download: exit $rc, not 1"
cmp -s "$tmp/out/a.bak" "$tmp/raw/o1/r1/c1/a.bak" || fail "a file with the wrong hash was not fetched again"
[ "$(wc -l < "$tmp/err")" -eq 2 ] || fail "not one line per failed file: $(cat "$tmp/err")"
grep -q '^fetch-corpus: b.bak: download failed: .*sub%20dir%20%C3%A9/b.bak' "$tmp/err" || fail "the missing file is not named with its URL: $(cat "$tmp/err")"
grep -q '^fetch-corpus: c.trn: sha256 ' "$tmp/err" || fail "the damaged file is not named: $(cat "$tmp/err")"
[ ! -e "$tmp/out/b.bak" ] && [ ! -e "$tmp/out/c.trn" ] || fail "a failed download left a file behind"
ls "$tmp/out" | grep -q '\.part$' && fail "a .part file was left behind"
grep -q '1 fetched, 1 already there, 2 failed' "$tmp/log" || fail "third run: $(tail -n 1 "$tmp/log")"

# the committed list and the corpus agree, where the corpus is (its MANIFEST.tsv)
fixtures=${B2P_FIXTURES:-../shared/fixtures}
if [ -r "$fixtures/MANIFEST.tsv" ]; then
    cut -f 1-6 "$fixtures/MANIFEST.tsv" | sort > "$tmp/want"
    grep -v '^#' fixtures/corpus.tsv | sort > "$tmp/have"
    cmp -s "$tmp/want" "$tmp/have" || fail "fixtures/corpus.tsv differs from $fixtures/MANIFEST.tsv: $(diff "$tmp/want" "$tmp/have" | head -n 5)"
    sh tools/fetch-corpus fixtures/corpus.tsv "$fixtures" > "$tmp/log" 2>&1 || fail "the corpus at $fixtures does not check out: $(cat "$tmp/log")"
else
    echo "SKIPPED: no fixture corpus at $fixtures: fixtures/corpus.tsv not compared with its MANIFEST.tsv"
    echo "[  SKIPPED ] 1 test(s), listed above"
fi

if [ $fails -ne 0 ]; then
    echo "test_fetch_corpus: $fails failure(s)"
    exit 1
fi
echo "test_fetch_corpus: passed"
