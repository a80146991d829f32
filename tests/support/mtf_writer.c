/* Writes SQL Server backup containers (see mtf_writer.h), in the block order SQL Server uses:
 *   TAPE SFMB | SSET VOLB MSCI MSDA MSLS SFMB ESET ESET SFMB
 * Field offsets are those the reader decodes (mtf/walk.c, mtf/meta.c; container.md 2-5). */
#include "mtf_writer.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "mtf/mtf.h"
#include "tests/support/xpress_encode.h"

enum {
    FLB = 1024,                /* format logical block */
    DBLK_HEADER = 52,
    STREAM_HEADER = 22,
    RECORD_MAX = 65536,        /* one compressed record: an extent of pages */
    CONTAINER_FIRST = 0x1E0,   /* first record of an MSSQLBAK file */
    PAGE = 8192,
};

/* 2026-01-02 03:04:05 as an MTF date: year 14 bits, month 4, day 5, hour 5, minute 6, second 6 */
static void put_date(uint8_t *p) {
    uint64_t v = ((uint64_t)2026 << 26) | (1u << 22) | (2u << 17) | (3u << 12) | (4u << 6) | 5u;
    for (int i = 0; i < 5; i++) p[i] = (uint8_t)(v >> (8 * (4 - i)));
}

static void put_lsn(uint8_t *p, uint32_t vlf, uint32_t block, uint16_t slot) {
    b2p_put_le32(p, vlf);
    b2p_put_le32(p + 4, block);
    b2p_put_le16(p + 8, slot);
}

/* A growable byte buffer for one block's fixed part, strings and small streams. */
typedef struct buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} buf;

static uint8_t *buf_reserve(buf *b, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return NULL;
        }
        memset(p + b->cap, 0, cap - b->cap);
        b->p = p;
        b->cap = cap;
    }
    uint8_t *at = b->p + b->len;
    memset(at, 0, n);
    b->len += n;
    return at;
}

/* The next code point of UTF-8 text at *p, moving *p past it (a stray byte stands for itself). */
static uint32_t utf8_next(const unsigned char **p) {
    uint32_t cp = *(*p)++;
    int more = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
    if (more) cp &= 0x3Fu >> more;
    for (; more && (**p & 0xC0) == 0x80; more--) cp = cp << 6 | (*(*p)++ & 0x3F);
    return cp;
}

/* Appends s (UTF-8: names in a backup are anything SQL Server's nvarchar holds) as UTF-16LE and
 * stores its (size, offset) pair at b->p + ta, where the offset counts from base (the start of
 * the enclosing block or record). */
static void buf_string(buf *b, size_t ta, size_t base, const char *s) {
    size_t units = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) units += utf8_next(&p) >= 0x10000 ? 2 : 1;
    size_t at = b->len;
    uint8_t *d = buf_reserve(b, 2 * units);
    if (!d) return;
    for (const unsigned char *p = (const unsigned char *)s; *p; d += 2) {
        uint32_t cp = utf8_next(&p);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            b2p_put_le16(d, (uint16_t)(0xD800 | cp >> 10));
            d += 2;
            cp = 0xDC00 | (cp & 0x3FF);
        }
        b2p_put_le16(d, (uint16_t)cp);
    }
    b2p_put_le16(b->p + ta, (uint16_t)(2 * units));
    b2p_put_le16(b->p + ta + 2, (uint16_t)(at - base));
}

struct mtfw {
    FILE *out;
    mtfw_options opt;
    bool ok;
    uint64_t image_pos;       /* bytes of MTF image produced */
    uint64_t set_pos;         /* image offset of the SSET */
    uint32_t control_id;
    uint64_t units_added;
    b2p_csum_state csum;
    /* compressed container state */
    uint8_t *rec;
    size_t rec_len;
    uint8_t *cbuf;
    size_t cbuf_cap;
    uint64_t file_pos;
};

/* ---- output: plain image, or records of the MSSQLBAK container -------------------------- */

static void file_write(mtfw *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->out) != n) w->ok = false;
    w->file_pos += n;
}

static void file_pad_to(mtfw *w, uint64_t align) {
    static const uint8_t zeros[4096];
    while (w->file_pos % align) {
        size_t n = (size_t)(align - w->file_pos % align);
        file_write(w, zeros, n < sizeof zeros ? n : sizeof zeros);
    }
}

/* Writes in[0..len) as one or more records: a record's compressed size must fit its u16. */
static void write_records(mtfw *w, const uint8_t *in, size_t len) {
    size_t clen = b2p_xpress_encode(in, len, w->cbuf, w->cbuf_cap);
    if (clen == 0) {
        w->ok = false;
        return;
    }
    if (clen > 65535) { /* incompressible: split on a 512-byte boundary */
        size_t half = len / 2 / 512 * 512;
        write_records(w, in, half);
        write_records(w, in + half, len - half);
        return;
    }
    uint8_t h[28] = {0x21, (uint8_t)(len / 512)};
    b2p_put_le16(h + 2, (uint16_t)clen);
    file_write(w, h, sizeof h);
    file_write(w, w->cbuf, clen);
}

static void flush_record(mtfw *w) {
    if (!w->opt.compress || w->rec_len == 0) return;
    write_records(w, w->rec, w->rec_len);
    w->rec_len = 0;
}

static void emit(mtfw *w, const uint8_t *p, size_t n) {
    w->image_pos += n;
    if (!w->opt.compress) {
        file_write(w, p, n);
        return;
    }
    while (n > 0) {
        size_t k = RECORD_MAX - w->rec_len < n ? RECORD_MAX - w->rec_len : n;
        memcpy(w->rec + w->rec_len, p, k);
        w->rec_len += k;
        p += k;
        n -= k;
        if (w->rec_len == RECORD_MAX) flush_record(w);
    }
}

static void emit_zeros(mtfw *w, uint64_t n) {
    static const uint8_t zeros[4096];
    while (n > 0) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        emit(w, zeros, k);
        n -= k;
    }
}

/* ---- blocks and streams ----------------------------------------------------------------- */

static void seal_header(uint8_t *h, size_t words) {
    uint16_t x = 0;
    for (size_t i = 0; i + 1 < words; i++) x ^= b2p_le16(h + 2 * i);
    b2p_put_le16(h + 2 * (words - 1), x);
}

/* The common block header, sealed later (the first-event offset is known at the end). */
static void dblk_header(mtfw *w, buf *b, const char *type, uint32_t attr, bool in_set) {
    uint8_t *h = buf_reserve(b, DBLK_HEADER);
    if (!h) return;
    memcpy(h, type, 4);
    b2p_put_le32(h + 4, attr);
    h[10] = 14; /* Windows NT */
    h[11] = 1;
    if (in_set) {
        b2p_put_le64(h + 20, (w->image_pos - w->set_pos) / FLB);
        b2p_put_le32(h + 36, w->control_id++);
    }
    h[48] = 2; /* strings are UTF-16 */
}

static void stream_header(uint8_t *h, const char *id, uint16_t tf, uint64_t len) {
    memset(h, 0, STREAM_HEADER);
    memcpy(h, id, 4);
    b2p_put_le16(h + 6, tf);
    b2p_put_le64(h + 8, len);
    seal_header(h, 11);
}

/* Appends a stream (header + data + 4-byte alignment) to b. */
static void buf_stream(buf *b, const char *id, uint16_t tf, const uint8_t *data, size_t len) {
    uint8_t *h = buf_reserve(b, STREAM_HEADER);
    if (!h) return;
    stream_header(h, id, tf, len);
    uint8_t *d = buf_reserve(b, len);
    if (d && len) memcpy(d, data, len);
    buf_reserve(b, (4 - b->len % 4) % 4); /* the next stream starts 4-byte aligned */
}

/* Ends the block b started: sets its first-event offset, seals it, emits it. */
static void emit_block(mtfw *w, buf *b, size_t first_event) {
    b2p_put_le16(b->p + 8, (uint16_t)first_event);
    seal_header(b->p, 26);
    if (b->oom) w->ok = false;
    else emit(w, b->p, b->len);
    b->len = 0;
}

/* SPAD: pads the image to the next multiple of align, counted from base. */
static void emit_spad(mtfw *w, uint64_t base, uint64_t align) {
    uint64_t end = w->image_pos + STREAM_HEADER;
    uint64_t target = base + (end - base + align - 1) / align * align;
    uint8_t h[STREAM_HEADER];
    stream_header(h, "SPAD", 0, target - end);
    emit(w, h, sizeof h);
    emit_zeros(w, target - end);
}

static uint64_t block_align(const mtfw *w) {
    return w->opt.block_size > FLB ? w->opt.block_size : FLB;
}

static void emit_sfmb(mtfw *w) {
    buf b = {0};
    dblk_header(w, &b, "SFMB", 0x80000000u, false);
    uint8_t *f = buf_reserve(&b, w->opt.block_size - DBLK_HEADER);
    if (f) b2p_put_le32(f, (w->opt.block_size - 60) / 8);
    if (w->opt.compress) { /* soft filemarks are stored raw in the container */
        flush_record(w);
        file_pad_to(w, 512);
        b2p_put_le16(b.p + 8, (uint16_t)w->opt.block_size);
        seal_header(b.p, 26);
        w->image_pos += b.len;
        file_write(w, b.p, b.len);
    } else {
        emit_block(w, &b, w->opt.block_size);
    }
    free(b.p);
}

static void emit_tape(mtfw *w) {
    buf b = {0};
    dblk_header(w, &b, "TAPE", 0x00030000u, false);
    uint8_t *f = buf_reserve(&b, 94 - DBLK_HEADER);
    if (!f) return;
    b2p_put_le32(b.p + 52, 0x1234ABCDu ^ w->opt.family_sequence);
    b2p_put_le32(b.p + 56, 5);
    b2p_put_le16(b.p + 60, 1);
    b2p_put_le16(b.p + 64, (uint16_t)(w->opt.block_size / 512));
    b2p_put_le16(b.p + 66, 3);
    b2p_put_le16(b.p + 84, FLB);
    b2p_put_le16(b.p + 86, 0x1200);
    put_date(b.p + 88);
    b.p[93] = 1;
    buf_string(&b, 80, 0, "Microsoft SQL Server");
    buf_reserve(&b, (4 - b.len % 4) % 4);
    size_t first = b.len;
    uint8_t raid[32] = {0};
    memcpy(raid, w->opt.media_set_guid, 16);
    b2p_put_le32(raid + 16, 0xF00000ADu);
    b2p_put_le16(raid + 20, w->opt.family_count);
    b2p_put_le16(raid + 22, 1);
    b2p_put_le16(raid + 24, w->opt.family_sequence);
    raid[30] = 1;
    buf_stream(&b, "RAID", 0, raid, sizeof raid);
    emit_block(w, &b, first);
    free(b.p);
    emit_spad(w, 0, block_align(w));
    flush_record(w); /* SQL Server's first record holds the TAPE block alone */
}

static void emit_sset(mtfw *w) {
    w->set_pos = w->image_pos;
    w->control_id = 0;
    buf b = {0};
    dblk_header(w, &b, "SSET", 0, true);
    if (!buf_reserve(&b, 121 - DBLK_HEADER)) return;
    b2p_put_le32(b.p + 52, w->opt.type_letter == 'I' ? 8 : 4);
    b2p_put_le16(b.p + 60, 0x1200);
    b2p_put_le16(b.p + 62, 1);
    b2p_put_le64(b.p + 80, w->image_pos);
    put_date(b.p + 88);
    b.p[93] = w->opt.version_major;
    b.p[94] = w->opt.version_minor;
    b.p[97] = 2;
    b2p_put_le16(b.p + 44, 21); /* OS-specific data: the backup set GUID */
    b2p_put_le16(b.p + 46, 100);
    memcpy(b.p + 100, w->opt.backup_set_guid, 16);
    buf_string(&b, 64, 0, "bak2pg test backup");
    buf_string(&b, 76, 0, "tester");
    buf_reserve(&b, (4 - b.len % 4) % 4);
    emit_block(w, &b, b.len);
    free(b.p);
    emit_spad(w, w->set_pos, FLB);
}

static void emit_volb(mtfw *w) {
    buf b = {0};
    dblk_header(w, &b, "VOLB", 0, true);
    if (!buf_reserve(&b, 73 - DBLK_HEADER)) return;
    b2p_put_le32(b.p + 52, 2);
    put_date(b.p + 68);
    buf_string(&b, 56, 0, "C:");
    buf_string(&b, 64, 0, "TESTHOST");
    buf_reserve(&b, (4 - b.len % 4) % 4);
    emit_block(w, &b, b.len);
    free(b.p);
    emit_spad(w, w->set_pos, FLB);
}

/* The MQCI stream: SCIN, one SFGI, one SFIN per file (container.md 5). */
static void build_mqci(const mtfw *w, buf *m, bool final) {
    const mtfw_options *o = &w->opt;
    uint8_t *s = buf_reserve(m, 0x168);
    if (!s) return;
    memcpy(s, "SCIN", 4);
    uint32_t flags = 0x200 | (o->with_checksum ? 0x10 : 0) | (o->type_letter == 'I' ? 0x800 : 0);
    b2p_put_le32(s + 8, flags);
    b2p_put_le16(s + 0x18, o->version_build);
    s[0x1A] = o->version_minor;
    s[0x1B] = o->version_major;
    put_lsn(s + 32, 30, 100, 1);
    put_lsn(s + 42, 30, 200, 1);
    put_lsn(s + 52, 30, 100, 1);
    put_date(s + 72);
    put_date(s + 77);
    if (final) put_date(s + 82);
    s[0x57] = (uint8_t)o->type_letter;
    s[0x58] = 52;
    s[0x5B] = 150;
    b2p_put_le16(s + 0x5E, o->database_version);
    uint64_t size = (o->total_units + 4) * PAGE;
    b2p_put_le64(s + 0x60, size);
    b2p_put_le32(s + 116, 1033);
    b2p_put_le32(s + 120, 196609);
    b2p_put_le32(s + 216, 0x00D00409);
    b2p_put_le32(s + 220, 52);
    memcpy(s + 0x7C, o->family_guid, 16);
    if (o->type_letter == 'I') {
        put_lsn(s + 0x104, 29, 50, 1);
        memcpy(s + 0x110, o->differential_base_guid, 16);
    }
    b2p_put_le64(s + 0x158, size);
    buf_string(m, 104, 0, o->database_name);
    buf_string(m, 108, 0, o->server_name);
    b2p_put_le32(m->p + 4, (uint32_t)m->len);

    size_t g = m->len;
    uint8_t *fg = buf_reserve(m, 20);
    if (!fg) return;
    memcpy(fg, "SFGI", 4);
    b2p_put_le32(fg + 8, 16);
    b2p_put_le32(fg + 12, 1);
    buf_string(m, g + 16, g, "PRIMARY");
    b2p_put_le32(m->p + g + 4, (uint32_t)(m->len - g));

    for (size_t i = 0; i < o->nfiles; i++) {
        const mtfw_file *f = &o->files[i];
        size_t r = m->len;
        uint8_t *p = buf_reserve(m, 200);
        if (!p) return;
        memcpy(p, "SFIN", 4);
        b2p_put_le32(p + 8, f->type == 'L' ? 0x0C : (f->file_id == 1 ? 0x84 : 0x04));
        b2p_put_le32(p + 16, PAGE);
        b2p_put_le16(p + 20, f->file_id);
        b2p_put_le32(p + 24, f->type == 'D' ? (uint32_t)o->total_units : 0);
        b2p_put_le32(p + 28, f->type == 'L' ? 2 : 1);
        b2p_put_le32(p + 32, 512);
        b2p_put_le32(p + 36, f->type == 'L' ? 0 : 1);
        b2p_put_le64(p + 40, f->size_bytes);
        b2p_put_le64(p + 86, f->type == 'L' ? 2199023255552ULL : 35184372080640ULL);
        buf_string(m, r + 48, r, f->logical_name);
        buf_string(m, r + 52, r, f->physical_name);
        b2p_put_le32(m->p + r + 4, (uint32_t)(m->len - r));
    }
}

static void emit_metadata_block(mtfw *w, const char *type, bool final) {
    buf b = {0}, m = {0};
    dblk_header(w, &b, type, 0, true);
    buf_reserve(&b, 4);
    size_t first = b.len;
    build_mqci(w, &m, final);
    if (m.oom) w->ok = false;
    buf_stream(&b, "MQCI", 0, m.p, m.len);
    emit_block(w, &b, first);
    free(b.p);
    free(m.p);
    emit_spad(w, w->set_pos, final ? block_align(w) : FLB); /* a filemark follows MSLS */
}

/* MSDA's fixed part and APAD, then the MQDA header: the page data that follows its 2-byte lead
 * starts on a physical block boundary, as SQL Server aligns it. */
static void start_msda(mtfw *w) {
    buf b = {0};
    dblk_header(w, &b, "MSDA", 0, true);
    uint8_t *f = buf_reserve(&b, 8);
    if (f) f[6] = 1;
    size_t first = b.len;
    uint64_t after_apad_header = w->image_pos + b.len + STREAM_HEADER;
    uint64_t data = after_apad_header + STREAM_HEADER + 2;
    uint64_t apad = (w->opt.block_size - data % w->opt.block_size) % w->opt.block_size;
    uint8_t *h = buf_reserve(&b, STREAM_HEADER);
    if (h) stream_header(h, "APAD", 0x80, apad);
    buf_reserve(&b, (size_t)apad);
    uint8_t *q = buf_reserve(&b, STREAM_HEADER + 2);
    if (q) stream_header(q, "MQDA", w->opt.with_checksum ? 0x0102 : 0x0002, 2 + w->opt.total_units * PAGE);
    emit_block(w, &b, first);
    free(b.p);
}

static void end_msda(mtfw *w) {
    buf b = {0};
    /* The page data ends 4-byte aligned (it starts block-aligned), so no stream pad is due. */
    if (w->opt.with_checksum) {
        uint8_t v[4];
        b2p_put_le32(v, w->csum.value);
        buf_stream(&b, "CSUM", 0, v, 4);
    }
    uint8_t *t = buf_reserve(&b, STREAM_HEADER);
    if (t) stream_header(t, "MQDA", 0x0006, 0);
    buf_reserve(&b, (4 - b.len % 4) % 4); /* the SPAD starts 4-byte aligned */
    if (b.oom) w->ok = false;
    else emit(w, b.p, b.len);
    free(b.p);
    emit_spad(w, w->set_pos, FLB);
}

static void emit_eset(mtfw *w) {
    buf b = {0};
    dblk_header(w, &b, "ESET", w->opt.type_letter == 'I' ? 8 : 4, true);
    if (!buf_reserve(&b, 88 - DBLK_HEADER)) return;
    b2p_put_le32(b.p + 52, w->opt.type_letter == 'I' ? 8 : 4);
    b2p_put_le16(b.p + 76, 1);
    b2p_put_le16(b.p + 78, 1);
    put_date(b.p + 80);
    emit_block(w, &b, b.len);
    free(b.p);
    emit_spad(w, w->set_pos, block_align(w));
}

/* ---- public API -------------------------------------------------------------------------- */

mtfw *mtfw_open(FILE *out, const mtfw_options *opt) {
    if ((opt->block_size != 512 && opt->block_size != 4096) || !opt->database_name || !opt->server_name)
        return NULL;
    mtfw *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->out = out;
    w->opt = *opt;
    w->ok = true;
    if (!w->opt.family_count) w->opt.family_count = 1;
    if (!w->opt.family_sequence) w->opt.family_sequence = 1;
    if (opt->compress) {
        w->cbuf_cap = b2p_xpress_encode_bound(RECORD_MAX);
        w->rec = malloc(RECORD_MAX);
        w->cbuf = malloc(w->cbuf_cap);
        if (!w->rec || !w->cbuf) {
            free(w->rec);
            free(w->cbuf);
            free(w);
            return NULL;
        }
        static const uint8_t header[16] = {'M', 'S', 'S', 'Q', 'L', 'B', 'A', 'K', 2, 0, 0, 0, 3, 0, 0, 0};
        file_write(w, header, sizeof header);
        file_pad_to(w, CONTAINER_FIRST);
    }
    emit_tape(w);
    emit_sfmb(w);
    emit_sset(w);
    emit_volb(w);
    emit_metadata_block(w, "MSCI", false);
    if (opt->type_letter != 'L') start_msda(w);
    return w;
}

bool mtfw_add_units(mtfw *w, const uint8_t *units, size_t n) {
    if (w->opt.type_letter == 'L' || w->units_added + n > w->opt.total_units) return false;
    if (w->opt.with_checksum) b2p_backup_checksum_update(&w->csum, units, n * PAGE);
    emit(w, units, n * PAGE);
    w->units_added += n;
    return w->ok;
}

bool mtfw_close(mtfw *w) {
    bool ok = w->ok && (w->opt.type_letter == 'L' || w->units_added == w->opt.total_units);
    if (w->opt.type_letter != 'L') end_msda(w);
    emit_metadata_block(w, "MSLS", true);
    emit_sfmb(w);
    emit_eset(w);
    emit_eset(w);
    emit_sfmb(w);
    flush_record(w);
    ok = ok && w->ok && fflush(w->out) == 0;
    free(w->rec);
    free(w->cbuf);
    free(w);
    return ok;
}

/* ---- identities ---------------------------------------------------------------------------- */

static void hash_str(XXH3_state_t *h, const char *s) {
    s = s ? s : "";
    XXH3_128bits_update(h, s, strlen(s) + 1); /* with the terminator: "ab","c" differs from "a","bc" */
}

static void hash_u64(XXH3_state_t *h, uint64_t v) {
    uint8_t b[8];
    b2p_put_le64(b, v);
    XXH3_128bits_update(h, b, sizeof b);
}

static bool all_zero(const uint8_t g[16]) {
    for (int i = 0; i < 16; i++)
        if (g[i]) return false;
    return true;
}

/* A GUID from the hash state's digest: as random-looking as a real one (version 4 layout). */
static void guid_from(XXH3_state_t *h, uint8_t out[16]) {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h));
    memcpy(out, c.digest, 16);
    out[7] = (uint8_t)((out[7] & 0x0F) | 0x40); /* Data3's high nibble, stored little-endian */
    out[8] = (uint8_t)((out[8] & 0x3F) | 0x80);
}

/* hash(purpose, content, and, for the backup's own GUIDs, every option that shapes the file) */
static void derive(const mtfw_options *o, const uint8_t content[16], const char *purpose, bool whole, uint8_t out[16]) {
    XXH3_state_t *h = XXH3_createState();
    if (!h) return; /* out stays zero: mtfw_open still works, the identity is then not unique */
    XXH3_128bits_reset(h);
    hash_str(h, purpose);
    XXH3_128bits_update(h, content, 16);
    hash_str(h, o->database_name);
    if (whole) {
        hash_str(h, o->server_name);
        hash_u64(h, ((uint64_t)o->block_size << 32) | ((uint64_t)o->compress << 16) | ((uint64_t)o->with_checksum << 8) |
                        (uint8_t)o->type_letter);
        hash_u64(h, ((uint64_t)o->version_major << 32) | ((uint64_t)o->version_minor << 16) | o->version_build);
        hash_u64(h, ((uint64_t)o->database_version << 32) | ((uint64_t)o->family_count << 16) | o->family_sequence);
        hash_u64(h, o->total_units);
        XXH3_128bits_update(h, o->differential_base_guid, 16);
        for (size_t i = 0; i < o->nfiles; i++) {
            hash_str(h, o->files[i].logical_name);
            hash_str(h, o->files[i].physical_name);
            hash_u64(h, ((uint64_t)o->files[i].file_id << 8) | (uint8_t)o->files[i].type);
            hash_u64(h, o->files[i].size_bytes);
        }
    }
    guid_from(h, out);
    XXH3_freeState(h);
}

void mtfw_derive_identity(mtfw_options *opt, const uint8_t content[16]) {
    if (all_zero(opt->family_guid)) derive(opt, content, "family", false, opt->family_guid);
    if (all_zero(opt->backup_set_guid)) derive(opt, content, "backup set", true, opt->backup_set_guid);
    if (all_zero(opt->media_set_guid)) derive(opt, content, "media set", true, opt->media_set_guid);
}

bool mtfw_write_file(const char *path, mtfw_options *opt, const uint8_t *units, size_t n) {
    XXH128_canonical_t content;
    XXH128_canonicalFromHash(&content, XXH3_128bits(units, n * PAGE));
    mtfw_derive_identity(opt, content.digest);
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    mtfw *w = mtfw_open(f, opt);
    bool ok = w && mtfw_add_units(w, units, n);
    ok = w && mtfw_close(w) && ok;
    return fclose(f) == 0 && ok;
}
