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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
    B2P_ERR_PG_SQL = 20,         /* PostgreSQL refused a statement or rows */
    B2P_ERR_PARTIAL = 21         /* the run completed, but some tables failed (each is named):
                                  * everything else is complete and consistent */
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

/* ---- growable buffer ---------------------------------------------------------------- */

/* data is always NUL-terminated after len bytes (when data != NULL), so a buffer holding
 * text can be printed; len does not count the terminator. Zero-initialised = empty. */
typedef struct b2p_buf {
    char *data;
    size_t len;
    size_t cap;
} b2p_buf;

void b2p_buf_free(b2p_buf *b);
static inline void b2p_buf_clear(b2p_buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}
/* Grows the buffer to hold extra more bytes (plus the terminator): b2p_buf_reserve's slow
 * path. */
b2p_status b2p_buf_grow(b2p_buf *b, size_t extra, b2p_error *err);
/* Make room for extra more bytes (plus the terminator). Inline, as is b2p_buf_append: they
 * run for nearly every piece of every value, and only growing leaves the line. */
static inline b2p_status b2p_buf_reserve(b2p_buf *b, size_t extra, b2p_error *err) {
    /* cap - len >= 1 whenever there is a buffer; with none both are 0 and it grows */
    return extra < b->cap - b->len ? B2P_OK : b2p_buf_grow(b, extra, err);
}
static inline b2p_status b2p_buf_append(b2p_buf *b, const void *p, size_t n, b2p_error *err) {
    b2p_status st = b2p_buf_reserve(b, n, err);
    if (st != B2P_OK) return st;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return B2P_OK;
}
b2p_status b2p_buf_puts(b2p_buf *b, const char *s, b2p_error *err);
/* Shrink back to len (used to undo a partial append); len must be <= b->len. */
void b2p_buf_truncate(b2p_buf *b, size_t len);

/* ---- text from a backup, shown to people (base/escape.c) ---------------------------------
 * Everything a backup holds is hostile: a name or a module text may carry newlines, carriage
 * returns, terminal escape sequences, bidirectional overrides or invalid UTF-8. This is the one
 * place that makes such text safe to show: in a terminal line, a log line, or an SQL comment,
 * it can only show itself. Printable UTF-8 passes unchanged; a backslash is doubled (so the
 * escaping is reversible: two names never look alike); everything else is written as \n, \r,
 * \t, \xNN (C0 controls, DEL, bytes that are not UTF-8) or \u{XXXX} (C1 controls, bidi and
 * line/paragraph separators). */

enum {
    B2P_ESCAPE_KEEP_NEWLINES = 1u << 0, /* multi-line text (a module's source in `schema`): \n and
                                           \t stay; \r and the rest are still escaped */
};

/* Appends s[0..n) escaped. */
b2p_status b2p_escape_text(b2p_buf *out, const char *s, size_t n, unsigned flags, b2p_error *err);
/* Appends s[0..n) as HTML text (valid in an element or a quoted attribute): escaped as above,
 * then & < > " ' as entities. The one place text becomes HTML. */
b2p_status b2p_escape_html(b2p_buf *out, const char *s, size_t n, b2p_error *err);
/* s (a C string) escaped for one line, in a small per-thread ring of buffers: valid until the 8th
 * next call on the same thread, so that one printf can show several names. Text too long for a
 * slot (512 bytes escaped) is cut and ends in "...". Never NULL (NULL shows as ""). */
const char *b2p_shown(const char *s);
/* Writes text as SQL `--` comment lines: every line (split at \n, \r\n or a lone \r, the three
 * that end a comment in psql and PostgreSQL) becomes prefix + the line escaped + "\n". prefix
 * must start with "--". However text is made, the result is comments and nothing else. */
b2p_status b2p_comment_lines(b2p_buf *out, const char *prefix, const char *text, b2p_error *err);

/* ---- SQL quoting (base/quote.c): the one place a name or a text becomes SQL ------------------ */

/* Appends name as a PostgreSQL identifier, double-quoted (quotes doubled) unless PostgreSQL
 * reads it unquoted as exactly itself (lower-case letters, digits, _ and $, not a keyword). */
b2p_status b2p_quote_ident(const char *name, b2p_buf *out, b2p_error *err);
/* Appends s as a string literal that means s under either standard_conforming_strings setting:
 * 'text' with quotes doubled, or E'text' with backslashes doubled too when s holds a backslash. */
b2p_status b2p_quote_literal(const char *s, b2p_buf *out, b2p_error *err);
/* Appends body dollar-quoted ($b2p$...$b2p$) with a tag that does not occur in body, for DO
 * blocks and function bodies that hold names. */
b2p_status b2p_quote_dollar(const char *body, b2p_buf *out, b2p_error *err);

/* ---- file names (base/filename.c): the one place a backup's name becomes a file name --------- */

enum { B2P_FILE_COMPONENT_MAX = 96 }; /* bytes of one encoded name before it is shortened */

/* Appends name as one component of a file name: ASCII letters, digits, '_' and '-' stay; every
 * other byte (including '.', '/', '%' and '~') is written %XX. Different names give different
 * components, and a component can never be empty, "." or "..", hold a '/', or start with '-'
 * ('-' at the start is encoded too). A component longer than B2P_FILE_COMPONENT_MAX is cut on a
 * %XX boundary and ends in '~' and 16 hex digits of a hash of the whole name ('~' never appears
 * otherwise), so that file names stay within every file system's limit. */
b2p_status b2p_file_component(b2p_buf *out, const char *name, b2p_error *err);
/* "<schema>.<table>.<ext>", each name through b2p_file_component: the file of one table. */
b2p_status b2p_table_file_name(b2p_buf *out, const char *schema, const char *table, const char *ext, b2p_error *err);

/* ---- output directories (base/outdir.c) --------------------------------------------------------
 * Where bak2pg writes files (convert -o, dump -o): every file is created new (O_CREAT|O_EXCL|
 * O_NOFOLLOW), relative to the directory's descriptor, never through a symbolic link and never
 * over an existing file; names are relative, one optional subdirectory deep, and checked (no
 * "..", no absolute path). Each file is recorded, before it is created, in the directory's
 * journal (.bak2pg-files), so that --clean can remove exactly what bak2pg wrote there, even after
 * a run that died. */

typedef struct b2p_outdir b2p_outdir;

/* Opens directory path, creating it (and missing parents) if needed. */
b2p_status b2p_outdir_open(const char *path, b2p_outdir **out, b2p_error *err);
void b2p_outdir_close(b2p_outdir *d);
const char *b2p_outdir_path(const b2p_outdir *d);
/* Removes every file the journal lists (and emptied subdirectories), then the journal. Files
 * bak2pg did not write stay. */
b2p_status b2p_outdir_clean(b2p_outdir *d, b2p_error *err);
/* The first entry of the directory other than the journal, or "" when there is none: for
 * refusing a used directory, naming what is in it. */
b2p_status b2p_outdir_first_entry(b2p_outdir *d, char *name, size_t len, b2p_error *err);
/* Creates new file relname ("load.sql", "data/x.copy") for writing; a file of that name that
 * exists already is an error naming it. */
b2p_status b2p_outdir_create(b2p_outdir *d, const char *relname, FILE **f, b2p_error *err);
/* Creates a new file stem + ext; where one exists already (another table's file on a
 * case-insensitive file system, say), stem + "~2" + ext, "~3", ... *actual receives the name
 * used. */
b2p_status b2p_outdir_create_unique(b2p_outdir *d, const char *stem, const char *ext, FILE **f, b2p_buf *actual,
                                    b2p_error *err);
/* Removes relname, a file this run created (a failed table's partial data file); the journal
 * keeps its name, which --clean then finds gone. */
b2p_status b2p_outdir_remove(b2p_outdir *d, const char *relname, b2p_error *err);
/* Closes f (from b2p_outdir_create), reporting a failed write or close with the file's name. */
b2p_status b2p_outdir_close_file(b2p_outdir *d, FILE *f, const char *relname, b2p_error *err);

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
