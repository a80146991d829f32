#!/bin/sh
# Issue 20: the two real SQL Server 2017 log backups of $B2P_FIXTURES/incoming (read in place).
# - the FILESTREAM database's log: info and info --check exit 0; its LSNs as RESTORE HEADERONLY
#   shows them; the FILESTREAM container among the files; the PH6S block skipped by its length;
# - the TDE log: identified with its certificate thumbprint (info exit 0, 11 where data is
#   needed); the key material checked with the published password, refused with a wrong one,
#   with another certificate, and with a file that is no certificate.
# Run by `make check` (B2P_BIN: the bak2pg under test) from the repository root.
set -u
bin=${B2P_BIN:-./bak2pg}
dir=${B2P_FIXTURES:-../shared/fixtures}/incoming
fs=$dir/salscouts_2017_LOG_filestream_saulaltoubah.bak
tde=$dir/salscouts_2017_LOG_TDE_saulaltoubah.bak
cert=$dir/salscouts_tde_cert.cer
key=$dir/salscouts_tde_key.pvk
if [ ! -f "$fs" ] || [ ! -f "$tde" ] || [ ! -f "$cert" ] || [ ! -f "$key" ]; then
    echo "SKIPPED: the incoming log backups are not in $dir (make corpus does not fetch incoming/)"
    echo "[  SKIPPED ] 1 test(s)"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect RC OUTFILE CMD...: runs CMD with stdout to OUTFILE, stderr to $tmp/err
expect() {
    want=$1 out=$2; shift 2
    "$@" > "$out" 2> "$tmp/err"; rc=$?
    [ "$rc" -eq "$want" ] || fail "$*: exit $rc, expected $want ($(cat "$tmp/err"))"
}
has() { grep -qF -- "$2" "$1" || fail "$1 lacks: $2"; }

# --- the FILESTREAM log backup
expect 0 "$tmp/fs" "$bin" info "$fs"
has "$tmp/fs" "type                   log"
has "$tmp/fs" "first LSN              36000005215600056"
has "$tmp/fs" "last LSN               36000005226800001"
has "$tmp/fs" "checkpoint LSN         36000005215600056"
has "$tmp/fs" "database backup LSN    0"
has "$tmp/fs" "SQL Server version     14.0.1000 (SQL Server 2017)"
has "$tmp/fs" "65537  filestream SAL_SCOUTS_FILESTREAM_Main"
has "$tmp/fs" "SAL_SCOUTS_log2"
[ "$(grep -c '  data  ' "$tmp/fs")" -eq 3 ] || fail "the FILESTREAM log backup does not list 3 data files"
expect 0 "$tmp/fsc" "$bin" info --check "$fs"
has "$tmp/fsc" "log                    16 blocks, 1 streams, 65536 bytes read"
has "$tmp/fsc" "other blocks           1 (PH6S, skipped by their own length)"
has "$tmp/fsc" "streams not read       MQSS APAD (headers checked, skipped by their length)"
expect 0 "$tmp/fsj" "$bin" info --check --json "$fs"
python3 - "$tmp/fsj" <<'EOF' || fail "info --check --json of the FILESTREAM log"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["files"][0]["backup_sets"][0]
assert s["type"] == "log" and s["first_lsn"] == "36000005215600056", s
files = {f["file_id"]: f for f in s["files"]}
assert files[65537]["type"] == "S", files[65537]  # FILELISTONLY's letter: FILESTREAM
c = d["check"]
assert c["kind"] == "log" and c["log_blocks"] == 16 and c["skipped_blocks"] == 1 and c["ok"], c
EOF
expect 8 /dev/null "$bin" dump --all "$fs"
has "$tmp/err" "transaction log backup"

# --- the TDE log backup: identified, its thumbprint shown; data needs the key
thumb=D13BB7301FDF9ED16F0377F17D7CB414F2BCAE5A
expect 0 "$tmp/tde" "$bin" info "$tde"
has "$tmp/tde" "transparent data encryption (TDE)"
has "$tmp/tde" "certificate thumbprint $thumb"
expect 0 "$tmp/tdej" "$bin" info --json "$tde"
python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["files"][0]; assert m["tde"] and m["tde_certificate_thumbprint"] == sys.argv[2] and m["backup_sets"] == [], m' "$tmp/tdej" "$thumb" || fail "info --json of the TDE backup"
for cmd in "info --check" "dump --all" "schema"; do
    expect 11 /dev/null "$bin" $cmd "$tde"
    has "$tmp/err" "transparent data encryption"
    has "$tmp/err" "$thumb"
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$cmd on the TDE backup: not one line: $(cat "$tmp/err")"
done

# --- key material: the published password (from a file, then from the environment)
printf 'Abcd1234.\n' > "$tmp/pw"
expect 0 "$tmp/keys" "$bin" info --tde-cert "$cert" --tde-key "$key" --tde-password-file "$tmp/pw" "$tde"
has "$tmp/keys" "certificate            matches the thumbprint"
has "$tmp/keys" "private key            decrypted with the password"
has "$tmp/keys" "key and certificate    belong together"
has "$tmp/keys" "database key           decrypted: AES_256, 256 bits (not shown)"
B2P_TDE_PASSWORD='Abcd1234.' expect 0 "$tmp/keysj" "$bin" info --json --tde-cert "$cert" --tde-key "$key" "$tde"
python3 - "$tmp/keysj" <<'EOF' || fail "info --json --tde-key"
import json, sys
k = json.load(open(sys.argv[1]))["tde_keys"]
assert k == {"certificate_matches": True, "private_key_decrypted": True, "key_matches_certificate": True,
             "database_key_decrypted": True, "algorithm": "AES_256", "key_bits": 256}, k
EOF
grep -q 'Abcd1234' "$tmp/keys" "$tmp/keysj" "$tmp/err" && fail "the password appears in the output"

# a wrong password: one line naming the key file
printf 'Abcd1234!\n' > "$tmp/bad"
expect 11 "$tmp/out" "$bin" info --tde-cert "$cert" --tde-key "$key" --tde-password-file "$tmp/bad" "$tde"
has "$tmp/err" "does not decrypt with the password given"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "wrong password: not one line"
has "$tmp/out" "private key            not decrypted"

# another server's certificate (made here), and a file that is no certificate
if command -v openssl > /dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/other.key" -subj /CN=other -days 1 \
        -outform DER -out "$tmp/other.cer" > /dev/null 2>&1
    expect 11 "$tmp/out" "$bin" info --tde-cert "$tmp/other.cer" "$tde"
    has "$tmp/err" "is not the one"
    has "$tmp/err" "$thumb"
else
    echo "SKIPPED: no openssl program: the other-certificate case is not run"
fi
expect 11 /dev/null "$bin" info --tde-cert "$tmp/pw" "$tde"
has "$tmp/err" "not a DER certificate"
# the options are refused on a backup that is not under TDE, and without --tde-cert
expect 2 /dev/null "$bin" info --tde-cert "$cert" "$fs"
expect 2 /dev/null "$bin" info --tde-key "$key" "$tde"

[ $fails -eq 0 ] && echo "test_incoming_logs: all passed"
exit $fails
