/* Walks the Microsoft Tape Format descriptor blocks (DBLKs) and streams of one MTF image.
 *
 * Every DBLK starts with the 52-byte common header (container.md 2.2):
 *   0 type[4]  4 attributes  8 u16 offset to first stream  20 u64 format logical address
 *   36 control block id  44 OS-specific data (size, offset)  48 string type  50 u16 checksum
 * (the XOR of the 26 little-endian u16 words of the header is 0). A stream header is 22 bytes:
 *   0 id[4]  4 fs attributes  6 media attributes  8 u64 length  20 u16 checksum
 * Streams follow one another at 4-byte alignment; SPAD is last and pads to the next block,
 * which starts right after it. SFMB (soft filemark) blocks have no streams.
 *
 * SQL Server writes, per file: TAPE SFMB, then per backup set SSET VOLB MSCI MSDA MSTL... MSLS
 * SFMB ESET ESET SFMB. MSCI and MSLS carry the SQL metadata (MSLS is the final copy), MSDA the
 * pages (MQDA stream), MSTL the log. Unknown blocks and streams are skipped. */
#define B2P_MTF_INTERNAL
#include "mtf_int.h"

#include <stdlib.h>
#include <string.h>

enum {
    DBLK_HEADER = 52,
    STREAM_HEADER = 22,
    RAID_LEN = 32,
    MAX_DBLK_FIXED = 65536,         /* a DBLK's fixed part: 52 bytes to a few hundred */
    MAX_MQCI = 64 * 1024 * 1024,    /* metadata stream: a few KB per database file */
};

typedef struct walker {
    b2p_media_int *m;
    b2p_error *err;
    uint8_t fixed[MAX_DBLK_FIXED];  /* the current DBLK's bytes up to its first stream */
    size_t fixed_len;
    uint8_t string_type;
    b2p_set_info *set;              /* the set being read (NULL outside SSET..ESET) */
    b2p_set_data *data;
    b2p_image_cache cache;          /* decoded records while walking (compressed files) */
} walker;

static uint16_t xor_words(const uint8_t *p, size_t nwords) {
    uint16_t x = 0;
    for (size_t i = 0; i < nwords; i++) x ^= b2p_le16(p + 2 * i);
    return x;
}

/* Reads an MTF string (TAPE_ADDRESS at off of the current DBLK) into out as UTF-8. */
static void dblk_string(const walker *w, size_t off, char *out, size_t outlen) {
    out[0] = 0;
    if (off + 4 > w->fixed_len) return;
    size_t size = b2p_le16(w->fixed + off), at = b2p_le16(w->fixed + off + 2);
    if (size == 0 || at > w->fixed_len || size > w->fixed_len - at) return;
    if (w->string_type == 2) {
        b2p_utf16_to_utf8(w->fixed + at, size, out, outlen);
        return;
    }
    size_t j = 0; /* single-byte: Latin-1 to UTF-8 */
    for (size_t i = 0; i < size && w->fixed[at + i] && j + 3 < outlen; i++) {
        uint8_t c = w->fixed[at + i];
        if (c < 0x80) out[j++] = (char)c;
        else {
            out[j++] = (char)(0xC0 | (c >> 6));
            out[j++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[j] = 0;
}

static b2p_status read_image(walker *w, uint64_t off, void *buf, size_t len) {
    return b2p_image_read(&w->m->image, &w->cache, off, buf, len, w->err);
}

static uint64_t file_off(const walker *w, uint64_t image_off) {
    return b2p_image_file_offset(&w->m->image, image_off);
}

static void parse_tape(walker *w) {
    b2p_media *pub = &w->m->pub;
    if (w->fixed_len < 94) return;
    pub->media_family_id = b2p_le32(w->fixed + 52);
    pub->media_password = b2p_le16(w->fixed + 62) != 0 && b2p_le16(w->fixed + 76) != 0;
    pub->block_size = (uint32_t)b2p_le16(w->fixed + 64) * 512;
    dblk_string(w, 68, pub->media_name, sizeof pub->media_name);
    pub->media_date = b2p_mtf_datetime(w->fixed + 88);
}

/* RAID stream (container.md 9.1): media set GUID, family count and sequence. */
static void parse_raid(walker *w, const uint8_t raid[RAID_LEN]) {
    b2p_media *pub = &w->m->pub;
    memcpy(pub->media_set_guid.b, raid, 16);
    pub->family_count = b2p_le16(raid + 20);
    pub->family_sequence = b2p_le16(raid + 24);
}

static b2p_status start_set(walker *w) {
    b2p_media_int *m = w->m;
    size_t n = m->pub.nsets + 1;
    b2p_set_info *sets = realloc(m->pub.sets, n * sizeof *sets);
    if (!sets) return b2p_fail(w->err, B2P_ERR_NOMEM, "out of memory");
    m->pub.sets = sets;
    b2p_set_data *data = realloc(m->data, n * sizeof *data);
    if (!data) return b2p_fail(w->err, B2P_ERR_NOMEM, "out of memory");
    m->data = data;
    m->pub.nsets = n;
    w->set = &sets[n - 1];
    w->data = &data[n - 1];
    memset(w->set, 0, sizeof *w->set);
    memset(w->data, 0, sizeof *w->data);

    b2p_set_info *s = w->set;
    if (w->fixed_len < 100) return B2P_OK;
    uint32_t attr = b2p_le32(w->fixed + 52);
    s->copy_only = (attr & 0x2) != 0;
    s->password_protected = b2p_le16(w->fixed + 56) != 0 && b2p_le16(w->fixed + 72) != 0;
    s->position = b2p_le16(w->fixed + 62);
    dblk_string(w, 64, s->backup_name, sizeof s->backup_name);
    dblk_string(w, 68, s->description, sizeof s->description);
    dblk_string(w, 76, s->user_name, sizeof s->user_name);
    s->start_date = b2p_mtf_datetime(w->fixed + 88);
    s->version_major = w->fixed[93];
    s->version_minor = w->fixed[94];
    s->time_zone = (int8_t)w->fixed[95];
    s->compressed = w->m->pub.compressed;
    /* The OS-specific data of an SSET holds the BackupSetGUID (container.md 2.6). */
    size_t os_size = b2p_le16(w->fixed + 44), os_off = b2p_le16(w->fixed + 46);
    if (os_size >= 16 && os_off <= w->fixed_len && w->fixed_len - os_off >= 16)
        memcpy(s->backup_set_guid.b, w->fixed + os_off, 16);
    return B2P_OK;
}

static b2p_status parse_mqci_stream(walker *w, uint64_t data_off, uint64_t len) {
    if (!w->set) return B2P_OK; /* metadata outside a set: nothing to attach it to */
    if (len > MAX_MQCI)
        return b2p_fail(w->err, B2P_ERR_CORRUPT,
                        "'%s': offset %llu: metadata stream of %llu bytes, expected at most %d",
                        w->m->pub.path, (unsigned long long)file_off(w, data_off),
                        (unsigned long long)len, MAX_MQCI);
    uint8_t *buf = malloc(len ? (size_t)len : 1);
    if (!buf) return b2p_fail(w->err, B2P_ERR_NOMEM, "out of memory");
    b2p_status st = read_image(w, data_off, buf, (size_t)len);
    if (!st) {
        /* MSLS repeats MSCI with final values: the later copy replaces the earlier. */
        free(w->set->files);
        w->set->files = NULL;
        w->set->nfiles = 0;
        st = b2p_parse_mqci(buf, (size_t)len, w->set, w->m->pub.path, file_off(w, data_off), w->err);
    }
    free(buf);
    return st;
}

/* Appends the stream at data_off to *ranges: MQDA (pages) and MQTL (log) alike. */
static b2p_status add_range(walker *w, b2p_data_range **ranges, size_t *n, uint64_t data_off, uint64_t len) {
    if (len == 0) return B2P_OK;
    b2p_data_range *r = realloc(*ranges, (*n + 1) * sizeof *r);
    if (!r) return b2p_fail(w->err, B2P_ERR_NOMEM, "out of memory");
    *ranges = r;
    /* Page and log data follow a 2-byte lead (always 00 00): container.md 4.1. */
    uint64_t lead = len % B2P_PAGE_SIZE == 2 ? 2 : 0;
    r[(*n)++] = (b2p_data_range){.image_off = data_off + lead,
                                       .len = (len - lead) / B2P_PAGE_SIZE * B2P_PAGE_SIZE,
                                       .csum_off = data_off,
                                       .csum_len = len};
    return B2P_OK;
}

/* A CSUM stream checksums the MQDA or MQTL stream right before it. */
static b2p_status attach_csum(walker *w, uint64_t data_off, uint64_t len, const char *prev_id) {
    if (!w->data) return B2P_OK;
    bool pages = strcmp(prev_id, "MQDA") == 0, log = strcmp(prev_id, "MQTL") == 0;
    size_t n = pages ? w->data->nranges : log ? w->data->nlog_ranges : 0;
    if (n == 0) return B2P_OK;
    uint8_t v[4];
    if (len != 4)
        return b2p_fail(w->err, B2P_ERR_CORRUPT, "'%s': offset %llu: CSUM stream of %llu bytes, expected 4",
                        w->m->pub.path, (unsigned long long)file_off(w, data_off), (unsigned long long)len);
    b2p_status st = read_image(w, data_off, v, 4);
    if (st) return st;
    b2p_data_range *r = pages ? &w->data->ranges[n - 1] : &w->data->log_ranges[n - 1];
    r->has_csum = true;
    r->csum = b2p_le32(v);
    return B2P_OK;
}

/* A stream bak2pg does not read (its header was checked, it is skipped by its length) is named
 * in the set's list, once, so that info --check can say what it did not read. */
static void note_unread_stream(walker *w, const char *id) {
    if (!w->set || strcmp(id, "SPAD") == 0) return;
    char *list = w->set->unread_streams;
    size_t n = strlen(list);
    for (size_t i = 0; i + 4 <= n; i += 5)
        if (memcmp(list + i, id, 4) == 0) return;
    if (n + 6 > sizeof w->set->unread_streams) return;
    snprintf(list + n, sizeof w->set->unread_streams - n, "%s%s", n ? " " : "", id);
}

/* Handles one stream of the current DBLK. */
static b2p_status on_stream(walker *w, const char *dblk, const char *id, uint64_t data_off,
                            uint64_t len, const char *prev_id) {
    if (strcmp(id, "RAID") == 0 && strcmp(dblk, "TAPE") == 0 && len >= RAID_LEN) {
        uint8_t raid[RAID_LEN];
        b2p_status st = read_image(w, data_off, raid, RAID_LEN);
        if (!st) parse_raid(w, raid);
        return st;
    }
    if (strcmp(id, "MQCI") == 0) return parse_mqci_stream(w, data_off, len);
    if (strcmp(id, "MQDA") == 0 && w->data)
        return add_range(w, &w->data->ranges, &w->data->nranges, data_off, len);
    if (strcmp(id, "MQTL") == 0 && w->data)
        return add_range(w, &w->data->log_ranges, &w->data->nlog_ranges, data_off, len);
    if (strcmp(id, "CSUM") == 0) return attach_csum(w, data_off, len, prev_id);
    note_unread_stream(w, id);
    return B2P_OK;
}

static bool printable_id(const uint8_t *p) {
    for (int i = 0; i < 4; i++)
        if (p[i] < 0x20 || p[i] > 0x7E) return false;
    return true;
}

/* Walks the streams of the DBLK at dblk_pos; returns the position of the next DBLK. */
static b2p_status walk_streams(walker *w, const char *dblk, uint64_t dblk_pos, uint64_t first,
                               uint64_t *next) {
    uint64_t pos = dblk_pos + first;
    char prev_id[5] = "";
    for (;;) {
        uint8_t h[STREAM_HEADER];
        b2p_status st = read_image(w, pos, h, sizeof h);
        if (st) return st;
        if (xor_words(h, 11) != 0 || !printable_id(h))
            return b2p_fail(w->err, B2P_ERR_CORRUPT,
                            "'%s': offset %llu: damaged stream header in %s block (checksum "
                            "mismatch), expected a valid MTF stream header",
                            w->m->pub.path, (unsigned long long)file_off(w, pos), dblk);
        char id[5] = {(char)h[0], (char)h[1], (char)h[2], (char)h[3], 0};
        uint64_t len = b2p_le64(h + 8), data = pos + STREAM_HEADER;
        if (len > w->m->image.size - data)
            return b2p_fail(w->err, B2P_ERR_TRUNCATED,
                            "'%s': offset %llu: %s stream of %llu bytes runs past the end of the "
                            "backup data (truncated?)", w->m->pub.path,
                            (unsigned long long)file_off(w, pos), id, (unsigned long long)len);
        if (strcmp(id, "SPAD") == 0) {
            *next = data + len;
            return B2P_OK;
        }
        st = on_stream(w, dblk, id, data, len, prev_id);
        if (st) return st;
        memcpy(prev_id, id, 5);
        pos = (data + len + 3) & ~(uint64_t)3;
    }
}

/* A block that carries no MTF streams but one payload its own header places: PH6S, which SQL
 * Server 2017 writes into the log backup of a database with a FILESTREAM filegroup, between MSCI
 * and the first MSTL. Its fixed part (64 bytes) ends with u32 count (1 seen) at 52, u32 payload
 * length at 56 and u32 payload offset from the block's start at 60; the bytes between the fixed
 * part and the payload are zero, and the next block starts right after the payload (container.md
 * 2.5). The payload is not needed to read the backup; it is skipped by its own length, and the
 * block after it must be a valid block (the walk checks that next). */
static b2p_status skip_payload_block(walker *w, const char *type, uint64_t pos, uint64_t *next) {
    if (w->fixed_len < 64)
        return b2p_fail(w->err, B2P_ERR_CORRUPT, "'%s': offset %llu: %s block of %zu fixed bytes, expected 64",
                        w->m->pub.path, (unsigned long long)file_off(w, pos), type, w->fixed_len);
    uint32_t len = b2p_le32(w->fixed + 56), at = b2p_le32(w->fixed + 60);
    if (at < w->fixed_len || at % 4 != 0)
        return b2p_fail(w->err, B2P_ERR_CORRUPT,
                        "'%s': offset %llu: %s block's payload at +%u, expected a 4-byte aligned offset "
                        "past its %zu-byte header", w->m->pub.path, (unsigned long long)file_off(w, pos),
                        type, at, w->fixed_len);
    if (at > w->m->image.size - pos || len > w->m->image.size - pos - at)
        return b2p_fail(w->err, B2P_ERR_TRUNCATED,
                        "'%s': offset %llu: %s block's %u-byte payload at +%u runs past the end of the "
                        "backup data (truncated?)", w->m->pub.path, (unsigned long long)file_off(w, pos),
                        type, len, at);
    if (w->data) w->data->skipped_blocks++;
    *next = pos + at + len;
    return B2P_OK;
}

static b2p_status on_dblk(walker *w, const char *type, uint64_t pos) {
    if (strcmp(type, "TAPE") == 0) parse_tape(w);
    else if (strcmp(type, "SSET") == 0) return start_set(w);
    else if (strcmp(type, "VOLB") == 0 && w->set)
        dblk_string(w, 64, w->set->machine_name, sizeof w->set->machine_name);
    else if (strcmp(type, "MSDA") == 0 && w->data) w->data->has_msda = true;
    else if (strcmp(type, "MSTL") == 0 && w->data) w->data->log_blocks++;
    else if (strcmp(type, "ESET") == 0) {
        w->set = NULL;
        w->data = NULL;
    }
    (void)pos;
    return B2P_OK;
}

b2p_status b2p_walk_media(b2p_media_int *m, b2p_error *err) {
    walker *w = calloc(1, sizeof *w);
    if (!w) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    w->m = m;
    w->err = err;
    b2p_status st = B2P_OK;
    uint64_t pos = 0;
    while (pos < m->image.size && !st) {
        uint8_t h[DBLK_HEADER];
        if ((st = read_image(w, pos, h, sizeof h))) break;
        char type[5] = {(char)h[0], (char)h[1], (char)h[2], (char)h[3], 0};
        if (pos == 0 && strcmp(type, "TAPE") != 0) {
            st = b2p_fail(err, B2P_ERR_NOT_BACKUP, "'%s': offset 0: expected a TAPE block, found '%.4s'",
                          m->pub.path, printable_id(h) ? type : "????");
            break;
        }
        if (xor_words(h, 26) != 0 || !printable_id(h)) {
            st = b2p_fail(err, B2P_ERR_CORRUPT,
                          "'%s': offset %llu: damaged MTF block header (checksum mismatch), "
                          "expected a valid descriptor block", m->pub.path,
                          (unsigned long long)file_off(w, pos));
            break;
        }
        uint64_t first = b2p_le16(h + 8);
        if (strcmp(type, "SFMB") == 0) {
            if (first < DBLK_HEADER) {
                st = b2p_fail(err, B2P_ERR_CORRUPT, "'%s': offset %llu: SFMB of %llu bytes, expected at least %d",
                              m->pub.path, (unsigned long long)file_off(w, pos), (unsigned long long)first, DBLK_HEADER);
                break;
            }
            if (first > m->image.size - pos) {
                st = b2p_fail(err, B2P_ERR_TRUNCATED,
                              "'%s': offset %llu: the file ends inside a %llu-byte filemark block (truncated?)",
                              m->pub.path, (unsigned long long)file_off(w, pos), (unsigned long long)first);
                break;
            }
            pos += first;
            continue;
        }
        if (first < DBLK_HEADER || first > MAX_DBLK_FIXED) {
            st = b2p_fail(err, B2P_ERR_CORRUPT,
                          "'%s': offset %llu: %s block's first stream at +%llu, expected %d..%d",
                          m->pub.path, (unsigned long long)file_off(w, pos), type,
                          (unsigned long long)first, DBLK_HEADER, MAX_DBLK_FIXED);
            break;
        }
        w->fixed_len = (size_t)first;
        w->string_type = h[48];
        if ((st = read_image(w, pos, w->fixed, w->fixed_len))) break;
        if ((st = on_dblk(w, type, pos))) break;
        uint64_t next = 0;
        if (strcmp(type, "PH6S") == 0) st = skip_payload_block(w, type, pos, &next);
        else st = walk_streams(w, type, pos, first, &next);
        if (st) break;
        pos = next;
    }
    if (!st && m->pub.nsets == 0)
        st = b2p_fail(err, B2P_ERR_TRUNCATED, "'%s': offset %llu: the file ends before its first backup set "
                      "(truncated?)", m->pub.path, (unsigned long long)file_off(w, pos));
    else if (!st && w->set)
        st = b2p_fail(err, B2P_ERR_TRUNCATED, "'%s': offset %llu: the file ends inside backup set %u, before "
                      "its end-of-set block (truncated?)", m->pub.path, (unsigned long long)file_off(w, pos),
                      w->set->position);
    b2p_image_cache_free(&w->cache);
    free(w);
    if (!st && m->pub.family_count == 0) {
        m->pub.family_count = 1;
        m->pub.family_sequence = 1;
    }
    return st;
}

void b2p_media_free_sets(b2p_media_int *m) {
    for (size_t i = 0; i < m->pub.nsets; i++) {
        free(m->pub.sets[i].files);
        free(m->data[i].ranges);
        free(m->data[i].log_ranges);
    }
    free(m->pub.sets);
    free(m->data);
    m->pub.sets = NULL;
    m->data = NULL;
    m->pub.nsets = 0;
}
