/* The MTF image of one backup file: the file itself (TAPE) or the decoded MSSQLBAK container.
 *
 * MSSQLBAK layout (container.md section 7, checked on every compressed fixture):
 *   0      "MSSQLBAK", u32 version, u32 flags; the rest of the header region is not parsed
 *   0x1E0  first record (with 512-byte blocks; found by scanning in general)
 *   record 28-byte header: u8 0x21, u8 uncompressed size in 512-byte units,
 *          u16 compressed size, 16 bytes IV or junk, u32 ciphertext length (encrypted only),
 *          u32 check value; then the MS-XCA LZ77+Huffman payload
 *   raw SFMB blocks (soft filemarks) sit uncompressed at block-aligned offsets
 * MSSQLBAK version 2 under TDE (one fixture, SQL Server 2017, incoming/salscouts..._TDE):
 *   8 u32 2, 12 u32 5, 16 u32 0xDC01 (both unexplained), 20 u32 20 = thumbprint length,
 *   24 the 20-byte SHA-1 thumbprint of the server certificate (equals sha1 of its DER file),
 *   44 u32 256 = length of the encrypted key that follows at 48 (an RSA-2048 block's size);
 *   after it, no record bak2pg can read without the key.
 * Records decode independently, so the image can be read at random through a segment table. */
#define B2P_MTF_INTERNAL
#include "mtf_int.h"
#include "xpress.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t MAGIC_TAPE[4] = {'T', 'A', 'P', 'E'};
static const uint8_t MAGIC_MSSQLBAK[8] = {'M', 'S', 'S', 'Q', 'L', 'B', 'A', 'K'};
enum {
    REC_HEADER = 28,
    REC_MARKER = 0x21,
    XPRESS_TABLE = 256,
    SCAN_STEP = 512,     /* records and raw blocks sit on 512-byte boundaries at least */
    PAD_MARKER = 0x24,   /* non-data records: see filler_record_at() */
    INDEX_MARKER = 0x2C,
    FILLER_HEADER = 24,
    MAX_RECORD_OUT = 255 * 512,
};

b2p_status b2p_file_read(int fd, const char *path, uint64_t off, void *buf, size_t len,
                         b2p_error *err) {
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return b2p_fail(err, B2P_ERR_IO, "'%s': read at offset %llu failed: %s", path,
                            (unsigned long long)(off + done), strerror(errno));
        }
        if (n == 0)
            return b2p_fail(err, B2P_ERR_TRUNCATED,
                            "'%s': file ends at offset %llu, expected %zu more bytes (truncated?)",
                            path, (unsigned long long)(off + done), len - done);
        done += (size_t)n;
    }
    return B2P_OK;
}

static b2p_status add_segment(b2p_image *im, b2p_seg_kind kind, uint64_t file_off,
                              uint32_t in_len, uint32_t out_len, b2p_error *err) {
    if (im->nsegs == im->segcap) {
        size_t cap = im->segcap ? im->segcap * 2 : 256;
        b2p_segment *s = realloc(im->segs, cap * sizeof *s);
        if (!s) return b2p_fail(err, B2P_ERR_NOMEM, "'%s': out of memory indexing records", im->path);
        im->segs = s;
        im->segcap = cap;
    }
    im->segs[im->nsegs++] = (b2p_segment){
        .image_off = im->size, .file_off = file_off, .out_len = out_len, .in_len = in_len,
        .kind = (uint8_t)kind};
    im->size += out_len;
    return B2P_OK;
}

/* Whether a plausible compressed record starts at pos: marker, sizes, complete code table. */
static bool record_at(b2p_image *im, uint64_t pos) {
    uint8_t h[REC_HEADER + XPRESS_TABLE];
    if (pos + sizeof h > im->file_size) return false;
    if (b2p_file_read(im->fd, im->path, pos, h, sizeof h, NULL) != B2P_OK) return false;
    uint16_t in_len = b2p_le16(h + 2);
    return h[0] == REC_MARKER && h[1] != 0 && in_len > XPRESS_TABLE &&
           pos + REC_HEADER + in_len <= im->file_size && b2p_xpress_table_is_complete(h + REC_HEADER);
}

/* Size of a raw SFMB block at pos, or 0 when there is none. */
static uint32_t raw_sfmb_at(b2p_image *im, uint64_t pos) {
    uint8_t h[52];
    if (pos + sizeof h > im->file_size) return 0;
    if (b2p_file_read(im->fd, im->path, pos, h, sizeof h, NULL) != B2P_OK) return 0;
    if (memcmp(h, "SFMB", 4) != 0) return 0;
    uint16_t x = 0;
    for (int i = 0; i < 26; i++) x ^= b2p_le16(h + 2 * i);
    uint16_t size = b2p_le16(h + 8);
    if (x != 0 || size < 512 || size % 512 != 0 || pos + size > im->file_size) return 0;
    return size;
}

/* Explains why the first record is not one we can decode: encryption, another algorithm. */
static b2p_status diagnose_first_record(b2p_image *im, uint64_t pos, b2p_error *err) {
    uint8_t h[REC_HEADER + 8];
    if (b2p_file_read(im->fd, im->path, pos, h, sizeof h, NULL) != B2P_OK)
        return b2p_fail(err, B2P_ERR_TRUNCATED,
                        "'%s': compressed container ends at offset %llu before its first record",
                        im->path, (unsigned long long)pos);
    const uint8_t *payload = h + REC_HEADER;
    uint32_t cipher_len = b2p_le32(h + 20);
    static const uint8_t zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    if (memcmp(payload, zstd_magic, 4) == 0)
        return b2p_fail(err, B2P_ERR_COMPRESSION,
                        "'%s': offset %llu: backup is compressed with ZSTD (SQL Server 2025), "
                        "which bak2pg does not decode yet", im->path, (unsigned long long)pos);
    if (payload[0] == 0x78 && ((payload[0] << 8) | payload[1]) % 31 == 0)
        return b2p_fail(err, B2P_ERR_COMPRESSION,
                        "'%s': offset %llu: backup is compressed with DEFLATE (QAT_DEFLATE, SQL "
                        "Server 2022), which bak2pg does not decode yet",
                        im->path, (unsigned long long)pos);
    if (h[0] == REC_MARKER && cipher_len != 0 && cipher_len % 16 == 0)
        return b2p_fail(err, B2P_ERR_ENCRYPTED,
                        "'%s': offset %llu: backup is encrypted (BACKUP ... WITH ENCRYPTION); "
                        "the server certificate or asymmetric key would be needed",
                        im->path, (unsigned long long)pos);
    uint8_t head[16];
    uint32_t version = 0;
    if (b2p_file_read(im->fd, im->path, 0, head, sizeof head, NULL) == B2P_OK) version = b2p_le32(head + 8);
    return b2p_fail(err, B2P_ERR_COMPRESSION,
                    "'%s': offset %llu: MSSQLBAK container (version %u) whose records are not "
                    "MS-XPRESS records bak2pg knows (unknown algorithm, encryption, or a version 1 "
                    "container of SQL Server 2008-2012)",
                    im->path, (unsigned long long)pos, version);
}

/* Length of a non-data record at pos (0 when there is none). Seen in every compressed fixture,
 * not described in container.md 7; each runs to a 512-byte boundary, where a filemark or a record
 * follows:
 *   0x24 0x00 u16 n          padding: 24 + n bytes (after the TAPE record, and after the last
 *                            record before a filemark)
 *   0x2C 0x00 ... u32 n @32  in 4096-byte-block files before the final filemark: 24 + n bytes,
 *                            holding from +40 what looks like a seek index of (image offset,
 *                            file offset) u64 pairs; bak2pg builds its own index instead */
static uint64_t filler_record_at(b2p_image *im, uint64_t pos) {
    uint8_t h[36];
    if (pos + sizeof h > im->file_size) return 0;
    if (b2p_file_read(im->fd, im->path, pos, h, sizeof h, NULL) != B2P_OK || h[1] != 0) return 0;
    uint64_t len;
    if (h[0] == PAD_MARKER) len = FILLER_HEADER + (uint64_t)b2p_le16(h + 2);
    else if (h[0] == INDEX_MARKER) len = FILLER_HEADER + (uint64_t)b2p_le32(h + 32);
    else return 0;
    if (pos + len > im->file_size || (pos + len) % SCAN_STEP != 0) return 0;
    return len;
}

/* True when what starts at pos (or at the block boundary after it) would be a record, a filler
 * record or a filemark but for the end of the file: a truncation, not damage. */
static bool cut_short_at(b2p_image *im, uint64_t pos, uint64_t aligned) {
    uint8_t h[36] = {0};
    uint64_t left = im->file_size - pos;
    if (left < sizeof h) return true;
    if (b2p_file_read(im->fd, im->path, pos, h, sizeof h, NULL) != B2P_OK) return false;
    if (h[0] == REC_MARKER && h[1] != 0 && b2p_le16(h + 2) > XPRESS_TABLE)
        return REC_HEADER + (uint64_t)b2p_le16(h + 2) > left;
    if (h[1] == 0 && h[0] == PAD_MARKER) return FILLER_HEADER + (uint64_t)b2p_le16(h + 2) > left;
    if (h[1] == 0 && h[0] == INDEX_MARKER) return FILLER_HEADER + (uint64_t)b2p_le32(h + 32) > left;
    uint8_t f[10];
    if (aligned + sizeof f <= im->file_size &&
        b2p_file_read(im->fd, im->path, aligned, f, sizeof f, NULL) == B2P_OK && !memcmp(f, "SFMB", 4))
        return aligned + b2p_le16(f + 8) > im->file_size;
    return false;
}

/* True when the bytes from pos to the end of the file are all zero (padding after the end). */
static bool only_zeros_from(b2p_image *im, uint64_t pos) {
    uint8_t buf[4096];
    while (pos < im->file_size) {
        size_t n = im->file_size - pos < sizeof buf ? (size_t)(im->file_size - pos) : sizeof buf;
        if (b2p_file_read(im->fd, im->path, pos, buf, n, NULL) != B2P_OK) return false;
        for (size_t i = 0; i < n; i++)
            if (buf[i]) return false;
        pos += n;
    }
    return true;
}

/* Builds the segment table of an MSSQLBAK file by following record headers. After a record
 * comes the next record, or (after padding to a 512-byte boundary) a raw SFMB block or a
 * record; anything else is damage, reported with its offset rather than skipped, so that no
 * data silently disappears. Only the first record is searched for. */
static b2p_status index_container(b2p_image *im, b2p_error *err) {
    enum { FIRST_RECORD = 0x1E0, FIRST_RECORD_SEARCH = 65536 };
    uint64_t pos = FIRST_RECORD;
    while (!record_at(im, pos)) {
        pos = (pos + SCAN_STEP) / SCAN_STEP * SCAN_STEP;
        if (pos > FIRST_RECORD_SEARCH || pos >= im->file_size)
            return diagnose_first_record(im, FIRST_RECORD, err);
    }
    while (pos < im->file_size) {
        uint64_t aligned = (pos + SCAN_STEP - 1) / SCAN_STEP * SCAN_STEP;
        uint64_t at = record_at(im, pos) ? pos : record_at(im, aligned) ? aligned : UINT64_MAX;
        if (at != UINT64_MAX) {
            uint8_t h[4];
            b2p_status st = b2p_file_read(im->fd, im->path, at, h, 4, err);
            if (st) return st;
            uint32_t in_len = b2p_le16(h + 2), out_len = (uint32_t)h[1] * 512;
            st = add_segment(im, B2P_SEG_XPRESS, at, in_len, out_len, err);
            if (st) return st;
            pos = at + REC_HEADER + in_len;
            continue;
        }
        uint64_t pad = filler_record_at(im, pos);
        if (pad) {
            pos += pad;
            continue;
        }
        uint32_t sfmb = raw_sfmb_at(im, aligned);
        if (sfmb) {
            b2p_status st = add_segment(im, B2P_SEG_RAW, aligned, sfmb, sfmb, err);
            if (st) return st;
            pos = aligned + sfmb;
            continue;
        }
        if (aligned >= im->file_size || only_zeros_from(im, pos)) break;
        if (cut_short_at(im, pos, aligned))
            return b2p_fail(err, B2P_ERR_TRUNCATED,
                            "'%s': offset %llu: the file ends inside a compressed record or filemark "
                            "(truncated?)", im->path, (unsigned long long)pos);
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "'%s': offset %llu: damaged compressed backup: expected a compressed record or a "
                        "filemark block here", im->path, (unsigned long long)pos);
    }
    return B2P_OK;
}

/* Reads the version 2 header above; true when the file is such a container. */
static bool read_tde_header(b2p_image *im) {
    enum { THUMBPRINT = 20, MAX_KEY = 4096 };
    uint8_t h[48];
    if (im->file_size < sizeof h || b2p_file_read(im->fd, im->path, 0, h, sizeof h, NULL) != B2P_OK) return false;
    uint32_t key_len = b2p_le32(h + 44);
    if (b2p_le32(h + 8) != 2 || b2p_le32(h + 20) != THUMBPRINT || key_len == 0 || key_len > MAX_KEY ||
        key_len > im->file_size - sizeof h)
        return false;
    im->tde = true;
    memcpy(im->tde_thumbprint, h + 24, THUMBPRINT);
    im->tde_key_len = key_len;
    return true;
}

b2p_status b2p_image_open(b2p_image *im, const char *path, b2p_error *err) {
    memset(im, 0, sizeof *im);
    im->path = path;
    im->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (im->fd < 0)
        return b2p_fail(err, B2P_ERR_IO, "'%s': cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(im->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        b2p_image_close(im);
        return b2p_fail(err, B2P_ERR_IO, "'%s': not a regular file", path);
    }
    im->file_size = (uint64_t)sb.st_size;
    uint8_t magic[16] = {0};
    size_t have = im->file_size < sizeof magic ? (size_t)im->file_size : sizeof magic;
    b2p_status st = b2p_file_read(im->fd, path, 0, magic, have, err);
    if (st) {
        b2p_image_close(im);
        return st;
    }
    if (have >= 4 && memcmp(magic, MAGIC_TAPE, 4) == 0) {
        im->size = im->file_size;
        return B2P_OK;
    }
    if (have >= 8 && memcmp(magic, MAGIC_MSSQLBAK, 8) == 0) {
        im->compressed = true;
        if (read_tde_header(im)) return B2P_OK; /* size 0: nothing of it can be read */
        st = index_container(im, err);
        if (st) b2p_image_close(im);
        return st;
    }
    b2p_image_close(im);
    return b2p_fail(err, B2P_ERR_NOT_BACKUP,
                    "'%s': not a SQL Server backup: offset 0 holds neither \"TAPE\" nor \"MSSQLBAK\"",
                    path);
}

void b2p_image_close(b2p_image *im) {
    if (im->fd >= 0) close(im->fd);
    im->fd = -1;
    free(im->segs);
    memset(im, 0, sizeof *im);
    im->fd = -1;
}

static size_t find_segment(const b2p_image *im, uint64_t off) {
    size_t lo = 0, hi = im->nsegs;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (im->segs[mid].image_off <= off) lo = mid;
        else hi = mid;
    }
    return lo;
}

uint64_t b2p_image_file_offset(const b2p_image *im, uint64_t image_off) {
    if (!im->compressed || im->nsegs == 0) return image_off;
    const b2p_segment *s = &im->segs[find_segment(im, image_off)];
    return s->kind == B2P_SEG_RAW ? s->file_off + (image_off - s->image_off) : s->file_off;
}

void b2p_image_cache_free(b2p_image_cache *c) {
    for (int k = 0; k < B2P_IMAGE_CACHE_SLOTS; k++) free(c->buf[k]);
    free(c->inbuf);
    memset(c, 0, sizeof *c);
}

/* Returns the decoded bytes of XPRESS segment i, decoding into the cache on a miss. */
static b2p_status decoded_segment(const b2p_image *im, b2p_image_cache *c, size_t i, const uint8_t **out,
                                  b2p_error *err) {
    for (int k = 0; k < B2P_IMAGE_CACHE_SLOTS; k++) {
        if (c->buf[k] && c->seg[k] == i) {
            *out = c->buf[k];
            return B2P_OK;
        }
    }
    unsigned k = c->next++ % B2P_IMAGE_CACHE_SLOTS;
    if (!c->buf[k] && !(c->buf[k] = malloc(MAX_RECORD_OUT)))
        return b2p_fail(err, B2P_ERR_NOMEM, "'%s': out of memory decoding records", im->path);
    const b2p_segment *s = &im->segs[i];
    if (s->in_len > c->inbuf_cap) {
        uint8_t *b = realloc(c->inbuf, 65536); /* in_len is a u16 */
        if (!b) return b2p_fail(err, B2P_ERR_NOMEM, "'%s': out of memory decoding records", im->path);
        c->inbuf = b;
        c->inbuf_cap = 65536;
    }
    c->seg[k] = (size_t)-1;
    b2p_status st = b2p_file_read(im->fd, im->path, s->file_off + REC_HEADER, c->inbuf, s->in_len, err);
    if (st) return st;
    st = b2p_xpress_decode(c->inbuf, s->in_len, c->buf[k], s->out_len, err);
    if (st) {
        char inner[sizeof err->msg];
        snprintf(inner, sizeof inner, "%s", err->msg);
        return b2p_fail(err, st, "'%s': compressed record at offset %llu: %s", im->path,
                        (unsigned long long)s->file_off, inner);
    }
    c->seg[k] = i;
    *out = c->buf[k];
    return B2P_OK;
}

b2p_status b2p_image_read(const b2p_image *im, b2p_image_cache *cache, uint64_t off, void *buf, size_t len,
                          b2p_error *err) {
    if (off > im->size || len > im->size - off)
        return b2p_fail(err, B2P_ERR_TRUNCATED,
                        "'%s': backup data ends at offset %llu, expected %llu more bytes (truncated?)",
                        im->path, (unsigned long long)b2p_image_file_offset(im, im->size),
                        (unsigned long long)(off + len - im->size));
    if (!im->compressed) return b2p_file_read(im->fd, im->path, off, buf, len, err);
    uint8_t *dst = buf;
    size_t i = find_segment(im, off);
    while (len > 0) {
        const b2p_segment *s = &im->segs[i];
        uint64_t within = off - s->image_off;
        size_t n = s->out_len - within < len ? (size_t)(s->out_len - within) : len;
        if (s->kind == B2P_SEG_RAW) {
            b2p_status st = b2p_file_read(im->fd, im->path, s->file_off + within, dst, n, err);
            if (st) return st;
        } else {
            const uint8_t *dec;
            b2p_status st = decoded_segment(im, cache, i, &dec, err);
            if (st) return st;
            memcpy(dst, dec + within, n);
        }
        dst += n;
        off += n;
        len -= n;
        i++;
    }
    return B2P_OK;
}
