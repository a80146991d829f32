/* bak2pg base: status codes, the error context, little-endian readers.
 *
 * Every layer reports failure the same way: a function returns a b2p_status and,
 * when it is not B2P_OK, has filled the caller's b2p_error with a one-line message
 * that names the file, the offset or page, and what was expected. Library code never
 * prints and never exits; only cli/ turns a status into an exit code (the values are
 * the exit codes, documented in README.md, so they are pinned).
 *
 * On-disk integers are little-endian; they are always decoded through b2p_le*()
 * from byte pointers, never by casting to a struct or an unaligned pointer. */
#ifndef B2P_BASE_H
#define B2P_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef enum b2p_status {
    B2P_OK = 0,
    B2P_ERR_FAILED = 1,          /* a check ran and found a mismatch (e.g. bad pages) */
    B2P_ERR_USAGE = 2,           /* wrong command-line arguments */
    B2P_ERR_IO = 3,              /* a file could not be opened or read */
    B2P_ERR_NOT_BACKUP = 4,      /* not a SQL Server backup file */
    B2P_ERR_TRUNCATED = 5,       /* the file ends before a structure does */
    B2P_ERR_CORRUPT = 6,         /* a structure is damaged (bad checksum, bad length) */
    B2P_ERR_MISSING_STRIPE = 7,  /* a media family of a striped set is absent */
    B2P_ERR_LOG_BACKUP = 8,      /* a log backup was given where pages are needed */
    B2P_ERR_NEEDS_FULL = 9,      /* a differential was given without its full backup */
    B2P_ERR_ENCRYPTED = 10,      /* BACKUP ... WITH ENCRYPTION */
    B2P_ERR_TDE = 11,            /* Transparent Data Encryption */
    B2P_ERR_COMPRESSION = 12,    /* a compression container or algorithm we cannot decode */
    B2P_ERR_NOMEM = 13,          /* out of memory */
    B2P_ERR_UNSUPPORTED = 14,    /* recognised but not (yet) supported */
    B2P_ERR_NOT_FOUND = 15,      /* the requested backup set, file, page or table is absent */
    B2P_ERR_INTERNAL = 16,       /* a bug in bak2pg */
    B2P_ERR_PG_CONNECT = 17,     /* the PostgreSQL server cannot be reached */
    B2P_ERR_PG_AUTH = 18,        /* PostgreSQL refused the credentials */
    B2P_ERR_PG_READONLY = 19,    /* the target is read-only (a standby, or read-only transactions) */
    B2P_ERR_PG_SQL = 20          /* PostgreSQL refused a statement or rows */
} b2p_status;

typedef struct b2p_error {
    b2p_status code;
    char msg[1024];
} b2p_error;

/* Records code and a printf-style message in err (err may be NULL); returns code,
 * so that a failure path is one line: return b2p_fail(err, B2P_ERR_CORRUPT, ...). */
b2p_status b2p_fail(b2p_error *err, b2p_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Makes err's message name the file: prefixes "'path': " unless the message already holds the
 * path. Layers that report pages and slots call it at their entry points, so every error a user
 * sees names the file it is about. */
void b2p_error_name_file(b2p_error *err, const char *path);

/* The stable name of a status, e.g. "truncated". */
const char *b2p_status_name(b2p_status code);

static inline uint16_t b2p_le16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t b2p_le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t b2p_le64(const uint8_t *p) {
    return (uint64_t)b2p_le32(p) | ((uint64_t)b2p_le32(p + 4) << 32);
}
static inline void b2p_put_le16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void b2p_put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void b2p_put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t b2p_rotl32(uint32_t v, unsigned n) {
    n &= 31;
    return n ? (v << n) | (v >> (32 - n)) : v;
}

/* ---- Unicode: SQL Server stores UTF-16LE, bak2pg speaks UTF-8 ---------------------------- */

/* The code point at UTF-16LE unit *i of p[0..units), moving *i past it. A surrogate pair is
 * joined; an unpaired surrogate comes back as itself with *unpaired set, for the caller to
 * replace (names, metadata) or refuse (table data). */
static inline uint32_t b2p_utf16_next(const uint8_t *p, size_t units, size_t *i, int *unpaired) {
    uint32_t cp = b2p_le16(p + 2 * *i);
    (*i)++;
    *unpaired = 0;
    if (cp < 0xD800 || cp > 0xDFFF) return cp;
    if (cp <= 0xDBFF && *i < units) {
        uint32_t lo = b2p_le16(p + 2 * *i);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            (*i)++;
            return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
    }
    *unpaired = 1;
    return cp;
}

/* Writes cp as UTF-8 to out (room for 4 bytes); returns the byte count. */
static inline size_t b2p_utf8_encode(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

#endif
