/* SQL Server's backup metadata: the MQCI stream (RESTORE HEADERONLY / FILELISTONLY) and the
 * small value types it uses (MTF dates, LSNs, GUIDs, collations).
 *
 * MQCI is a run of records, each: char tag[4], u32 length (header included), payload.
 * SCIN (one): the backup set header. SFGI (one per filegroup). SFIN (one per file).
 * Strings are (u16 size, u16 offset) pairs relative to the record start, UTF-16LE.
 * The fixed parts grow between versions; offsets used here are the same from SQL Server 2005
 * (9.0) to 2025 (17.0) in every fixture (container.md 5.2-5.4 for the field list). */
#define B2P_MTF_INTERNAL
#include "mtf_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SCIN_MIN = 0x110 + 16, SFGI_MIN = 20, SFIN_MIN = 94 };

b2p_datetime b2p_mtf_datetime(const uint8_t b[5]) {
    /* 40 bits, most significant first: year 14, month 4, day 5, hour 5, minute 6, second 6 */
    return (b2p_datetime){
        .year = (uint16_t)((b[0] << 6) | (b[1] >> 2)),
        .month = (uint8_t)(((b[1] & 3) << 2) | (b[2] >> 6)),
        .day = (uint8_t)((b[2] >> 1) & 31),
        .hour = (uint8_t)(((b[2] & 1) << 4) | (b[3] >> 4)),
        .minute = (uint8_t)(((b[3] & 15) << 2) | (b[4] >> 6)),
        .second = (uint8_t)(b[4] & 63),
    };
}

b2p_lsn b2p_lsn_read(const uint8_t p[10]) {
    return (b2p_lsn){.vlf = b2p_le32(p), .block = b2p_le32(p + 4), .slot = b2p_le16(p + 8)};
}

bool b2p_lsn_is_zero(b2p_lsn lsn) {
    return lsn.vlf == 0 && lsn.block == 0 && lsn.slot == 0;
}

char *b2p_lsn_format(b2p_lsn lsn, char *buf, size_t len) {
    /* numeric(25,0): vlf * 10^15 + block * 10^5 + slot; done in two parts to stay exact */
    if (lsn.vlf == 0) snprintf(buf, len, "%llu", (unsigned long long)lsn.block * 100000ULL + lsn.slot);
    else snprintf(buf, len, "%u%010llu%05u", lsn.vlf, (unsigned long long)lsn.block, (unsigned)lsn.slot);
    return buf;
}

char *b2p_datetime_format(b2p_datetime d, char *buf, size_t len) {
    if (d.year == 0) snprintf(buf, len, "%s", "");
    else snprintf(buf, len, "%04u-%02u-%02u %02u:%02u:%02u", d.year, d.month, d.day, d.hour,
                  d.minute, d.second);
    return buf;
}

char *b2p_guid_format(const b2p_guid *g, char *buf, size_t len) {
    const uint8_t *b = g->b;
    snprintf(buf, len, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", b2p_le32(b),
             b2p_le16(b + 4), b2p_le16(b + 6), b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return buf;
}

void b2p_utf16_to_utf8(const uint8_t *s, size_t nbytes, char *out, size_t outlen) {
    size_t j = 0, n = nbytes / 2;
    if (outlen == 0) return;
    while (n > 0 && b2p_le16(s + 2 * (n - 1)) == 0) n--; /* trailing NULs are padding */
    for (size_t i = 0; i < n;) {
        int unpaired;
        uint32_t cp = b2p_utf16_next(s, n, &i, &unpaired);
        uint8_t u[4];
        size_t k = b2p_utf8_encode(unpaired ? 0xFFFD : cp, u);
        if (j + k >= outlen) break; /* truncated at a character boundary */
        memcpy(out + j, u, k);
        j += k;
    }
    out[j] = 0;
}

/* ---- collations as SCIN stores them: u32 LCID | flags << 20 | version << 28, u32 sort id */

static const struct { uint16_t lcid; const char *name; } windows_collations[] = {
    {0x0401, "Arabic"}, {0x0404, "Chinese_Taiwan_Stroke"}, {0x0405, "Czech"},
    {0x0406, "Danish_Norwegian"}, {0x0407, "German_PhoneBook"}, {0x0408, "Greek"},
    {0x0409, "Latin1_General"}, {0x040B, "Finnish_Swedish"}, {0x040C, "French"},
    {0x040D, "Hebrew"}, {0x040E, "Hungarian"}, {0x040F, "Icelandic"}, {0x0411, "Japanese"},
    {0x0412, "Korean_Wansung"}, {0x0415, "Polish"}, {0x0418, "Romanian"}, {0x0419, "Cyrillic_General"},
    {0x041A, "Croatian"}, {0x041B, "Slovak"}, {0x041C, "Albanian"}, {0x041E, "Thai"},
    {0x041F, "Turkish"}, {0x0422, "Ukrainian"}, {0x0424, "Slovenian"}, {0x0425, "Estonian"},
    {0x0426, "Latvian"}, {0x0427, "Lithuanian"}, {0x042A, "Vietnamese"}, {0x042F, "Macedonian_FYROM"},
    {0x0439, "Indic_General"}, {0x0804, "Chinese_PRC"}, {0x0C0A, "Modern_Spanish"},
    {0x040A, "Traditional_Spanish"}, {0x0C04, "Chinese_Hong_Kong_Stroke"}, {0x1404, "Chinese_Taiwan_Bopomofo"},
    {0x0827, "Lithuanian_Classic"}, {0x043F, "Kazakh"}, {0x0443, "Uzbek_Latin"}, {0x0444, "Tatar"},
};

static const struct { uint8_t id; const char *name; } sql_sort_orders[] = {
    {30, "SQL_Latin1_General_CP437_BIN"}, {31, "SQL_Latin1_General_CP437_CS_AS"},
    {32, "SQL_Latin1_General_CP437_CI_AS"}, {40, "SQL_Latin1_General_CP850_BIN"},
    {41, "SQL_Latin1_General_CP850_CS_AS"}, {42, "SQL_Latin1_General_CP850_CI_AS"},
    {51, "SQL_Latin1_General_CP1_CS_AS"}, {52, "SQL_Latin1_General_CP1_CI_AS"},
    {53, "SQL_Latin1_General_Pref_CP1_CI_AS"}, {54, "SQL_Latin1_General_CP1_CI_AI"},
    {82, "SQL_Latin1_General_CP1250_CI_AS"}, {106, "SQL_Latin1_General_CP1251_CI_AS"},
    {114, "SQL_Latin1_General_CP1253_CI_AS"}, {130, "SQL_Latin1_General_CP1254_CI_AS"},
    {138, "SQL_Latin1_General_CP1255_CI_AS"}, {146, "SQL_Latin1_General_CP1256_CI_AS"},
    {154, "SQL_Latin1_General_CP1257_CI_AS"},
};

void b2p_collation_name(uint32_t lcid_flags, uint32_t sort_id, char *out, size_t outlen) {
    out[0] = 0;
    if (sort_id != 0) {
        for (size_t i = 0; i < sizeof sql_sort_orders / sizeof sql_sort_orders[0]; i++)
            if (sql_sort_orders[i].id == sort_id) {
                snprintf(out, outlen, "%s", sql_sort_orders[i].name);
                return;
            }
        snprintf(out, outlen, "SQL sort order %u", sort_id);
        return;
    }
    uint32_t lcid = lcid_flags & 0xFFFFF, flags = (lcid_flags >> 20) & 0xFF, version = lcid_flags >> 28;
    const char *base = NULL;
    for (size_t i = 0; i < sizeof windows_collations / sizeof windows_collations[0]; i++)
        if (windows_collations[i].lcid == lcid) base = windows_collations[i].name;
    if (!base) {
        snprintf(out, outlen, "LCID 0x%04X flags 0x%02X", lcid, flags);
        return;
    }
    static const char *const versions[] = {"", "_90", "_100", "_140"};
    const char *ver = version < 4 ? versions[version] : "";
    if (flags & 0x30) { /* 0x10 binary, 0x20 binary code point */
        snprintf(out, outlen, "%s%s_%s", base, ver, (flags & 0x20) ? "BIN2" : "BIN");
        return;
    }
    snprintf(out, outlen, "%s%s_%s_%s%s%s", base, ver, (flags & 1) ? "CI" : "CS",
             (flags & 2) ? "AI" : "AS", (flags & 4) ? "" : "_KS", (flags & 8) ? "" : "_WS");
}

/* ---- MQCI records -------------------------------------------------------------------- */

typedef struct record {
    const uint8_t *p;
    size_t len;
} record;

static void rec_string(record r, size_t off, char *out, size_t outlen) {
    out[0] = 0;
    if (off + 4 > r.len) return;
    size_t size = b2p_le16(r.p + off), at = b2p_le16(r.p + off + 2);
    if (size == 0 || at > r.len || size > r.len - at) return;
    b2p_utf16_to_utf8(r.p + at, size, out, outlen);
}

static b2p_backup_type type_from_letter(char c) {
    switch (c) {
    case 'D': return B2P_BACKUP_FULL;
    case 'I': return B2P_BACKUP_DIFFERENTIAL;
    case 'L': return B2P_BACKUP_LOG;
    case 'F': return B2P_BACKUP_FILE;
    case 'G': return B2P_BACKUP_DIFF_FILE;
    case 'P': return B2P_BACKUP_PARTIAL;
    case 'Q': return B2P_BACKUP_DIFF_PARTIAL;
    default: return B2P_BACKUP_UNKNOWN;
    }
}

const char *b2p_backup_type_name(b2p_backup_type t) {
    static const char *const names[] = {
        [B2P_BACKUP_UNKNOWN] = "unknown", [B2P_BACKUP_FULL] = "full",
        [B2P_BACKUP_DIFFERENTIAL] = "differential", [B2P_BACKUP_LOG] = "log",
        [B2P_BACKUP_FILE] = "file", [B2P_BACKUP_DIFF_FILE] = "differential file",
        [B2P_BACKUP_PARTIAL] = "partial", [B2P_BACKUP_DIFF_PARTIAL] = "differential partial",
    };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

static void parse_scin(record r, b2p_set_info *s) {
    const uint8_t *p = r.p;
    s->flags = b2p_le32(p + 8);
    s->has_checksums = (s->flags & 0x10) != 0;
    s->version_build = b2p_le16(p + 0x18);
    s->version_minor = p[0x1A];
    s->version_major = p[0x1B];
    s->first_lsn = b2p_lsn_read(p + 32);
    s->last_lsn = b2p_lsn_read(p + 42);
    s->checkpoint_lsn = b2p_lsn_read(p + 52);
    s->database_backup_lsn = b2p_lsn_read(p + 62);
    s->database_creation_date = b2p_mtf_datetime(p + 72);
    b2p_datetime start = b2p_mtf_datetime(p + 77);
    if (start.year) s->start_date = start;
    s->finish_date = b2p_mtf_datetime(p + 82);
    s->type_letter = (char)p[0x57];
    s->type = type_from_letter(s->type_letter);
    s->compatibility_level = p[0x5B];
    s->database_version = b2p_le16(p + 0x5E);
    s->backup_size = b2p_le64(p + 0x60);
    rec_string(r, 104, s->database_name, sizeof s->database_name);
    rec_string(r, 108, s->server_name, sizeof s->server_name);
    memcpy(s->family_guid.b, p + 0x7C, 16);
    s->collation_lcid_flags = b2p_le32(p + 216);
    s->collation_sort_id = b2p_le32(p + 220);
    b2p_collation_name(s->collation_lcid_flags, s->collation_sort_id, s->collation_name,
                       sizeof s->collation_name);
    if (s->type == B2P_BACKUP_DIFFERENTIAL || s->type == B2P_BACKUP_DIFF_FILE ||
        s->type == B2P_BACKUP_DIFF_PARTIAL) {
        s->differential_base_lsn = b2p_lsn_read(p + 0x104);
        memcpy(s->differential_base_guid.b, p + 0x110, 16);
    }
    /* Backup compression arrived with SQL Server 2008 (10.0); older SCINs hold other data there. */
    s->compressed_size = s->version_major >= 10 && r.len >= 0x160 ? b2p_le64(p + 0x158) : s->backup_size;
}

/* SFGI: filegroup id and name; SFIN names its filegroup by id only. */
typedef struct filegroup {
    uint32_t id;
    char name[256];
} filegroup;

/* SFIN's file type as RESTORE FILELISTONLY letters it. 1 and 2 are in every fixture; 7 is the
 * FILESTREAM container of SQL Server 2017 (salscouts: file id 65537 in the FILESTREAM filegroup);
 * 3 (full-text catalog, SQL Server 2005) and 4 (FILESTREAM) are read as the format notes give
 * them, no fixture holds either. */
static char sfin_file_type(uint32_t type) {
    switch (type) {
    case 1: return 'D';
    case 2: return 'L';
    case 3: return 'F';
    case 4: case 7: return 'S';
    default: return '?';
    }
}

static b2p_status parse_sfin(record r, b2p_set_info *s, b2p_error *err) {
    b2p_file_info *files = realloc(s->files, (s->nfiles + 1) * sizeof *files);
    if (!files) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    s->files = files;
    b2p_file_info *f = &files[s->nfiles++];
    memset(f, 0, sizeof *f);
    const uint8_t *p = r.p;
    f->type = sfin_file_type(b2p_le32(p + 28));
    f->file_id = b2p_le32(p + 20);
    f->filegroup_id = b2p_le32(p + 36);
    f->size_bytes = b2p_le64(p + 40);
    f->max_size_bytes = b2p_le64(p + 86);
    f->backup_size_bytes = f->type == 'D' ? (uint64_t)b2p_le32(p + 24) * B2P_PAGE_SIZE : 0;
    rec_string(r, 48, f->logical_name, sizeof f->logical_name);
    rec_string(r, 52, f->physical_name, sizeof f->physical_name);
    return B2P_OK;
}

b2p_status b2p_parse_mqci(const uint8_t *data, size_t len, b2p_set_info *set, const char *path,
                          uint64_t offset, b2p_error *err) {
    filegroup groups[64];
    size_t ngroups = 0;
    size_t pos = 0;
    bool have_scin = false;
    while (pos + 8 <= len) {
        record r = {data + pos, b2p_le32(data + pos + 4)};
        char tag[5] = {(char)r.p[0], (char)r.p[1], (char)r.p[2], (char)r.p[3], 0};
        if (r.len < 8 || r.len > len - pos)
            return b2p_fail(err, B2P_ERR_CORRUPT,
                            "'%s': offset %llu: metadata record '%.4s' claims %zu bytes, %zu remain",
                            path, (unsigned long long)(offset + pos), tag, r.len, len - pos);
        size_t min = !strcmp(tag, "SCIN") ? SCIN_MIN : !strcmp(tag, "SFGI") ? SFGI_MIN
                   : !strcmp(tag, "SFIN") ? SFIN_MIN : 8;
        if (r.len < min)
            return b2p_fail(err, B2P_ERR_CORRUPT,
                            "'%s': offset %llu: metadata record '%s' of %zu bytes, expected at least %zu",
                            path, (unsigned long long)(offset + pos), tag, r.len, min);
        if (!strcmp(tag, "SCIN")) {
            parse_scin(r, set);
            have_scin = true;
        } else if (!strcmp(tag, "SFGI") && ngroups < sizeof groups / sizeof groups[0]) {
            groups[ngroups].id = b2p_le32(r.p + 12);
            rec_string(r, 16, groups[ngroups].name, sizeof groups[ngroups].name);
            ngroups++;
        } else if (!strcmp(tag, "SFIN")) {
            b2p_status st = parse_sfin(r, set, err);
            if (st) return st;
        }
        pos += r.len;
    }
    if (!have_scin)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "'%s': offset %llu: backup metadata without its SCIN header record", path,
                        (unsigned long long)offset);
    for (size_t i = 0; i < set->nfiles; i++)
        for (size_t g = 0; g < ngroups; g++)
            if (groups[g].id == set->files[i].filegroup_id && set->files[i].type != 'L')
                snprintf(set->files[i].filegroup_name, sizeof set->files[i].filegroup_name, "%s",
                         groups[g].name);
    return B2P_OK;
}

const char *b2p_product_name(uint8_t major, uint8_t minor) {
    switch (major) {
    case 8: return "SQL Server 2000";
    case 9: return "SQL Server 2005";
    case 10: return minor >= 50 ? "SQL Server 2008 R2" : "SQL Server 2008";
    case 11: return "SQL Server 2012";
    case 12: return "SQL Server 2014";
    case 13: return "SQL Server 2016";
    case 14: return "SQL Server 2017";
    case 15: return "SQL Server 2019";
    case 16: return "SQL Server 2022";
    case 17: return "SQL Server 2025";
    default: return "SQL Server (unknown version)";
    }
}

const char *b2p_database_version_name(uint16_t v) {
    /* Internal database versions (pages.md 2.2; 998 seen on SQL Server 2025). */
    if (v == 539) return "SQL Server 2000";
    if (v == 611 || v == 612) return "SQL Server 2005";
    if (v == 655) return "SQL Server 2008";
    if (v == 660 || v == 661) return "SQL Server 2008 R2";
    if (v == 706) return "SQL Server 2012";
    if (v == 782) return "SQL Server 2014";
    if (v == 852) return "SQL Server 2016";
    if (v == 868 || v == 869) return "SQL Server 2017";
    if (v >= 895 && v <= 904) return "SQL Server 2019";
    if (v >= 950 && v <= 957) return "SQL Server 2022";
    if (v >= 990 && v <= 999) return "SQL Server 2025";
    return "unknown";
}
