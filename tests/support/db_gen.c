/* The description language, value generator and expected-row renderer of db_gen.h. The
 * renderer follows README's type table on its own; it never calls the reader's decoders. */
#include "tests/support/db_gen.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "tests/support/db_writer.h"

enum { MAX_COLS = 1024, MAX_TABLES = 256, MAX_SCHEMAS = 32 };

typedef struct gcol {
    dbw_column c;
    int64_t lo, hi;              /* range */
    int64_t len_lo, len_hi;      /* len */
    int nulls;                   /* percent */
    bool seq, unicode, has_range, has_len;
    int64_t div, mod;
    char *pick;                  /* comma-separated literal values to choose from */
} gcol;

typedef struct gtable {
    char *schema, *name, *pk_name;
    gcol *cols;
    size_t ncols;
    int pk[DBW_MAX_KEY];
    size_t npk;
    bool clustered;
    dbw_fk *fks;
    size_t nfks;
    uint64_t generate, seed;
    char **rows;                 /* literal rows, as written */
    size_t nrows;
} gtable;

struct dbg_desc {
    char *database;
    char *schemas[MAX_SCHEMAS];
    size_t nschemas;
    gtable tables[MAX_TABLES];
    size_t ntables;
};

/* ---- parsing ------------------------------------------------------------------------------- */

static char *copy_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static char *copy_s(const char *s) { return copy_n(s, strlen(s)); }

typedef struct parser {
    int line;
    char *err;
    size_t errlen;
} parser;

static bool perr(parser *p, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "line %d: %s", p->line, msg);
    return false;
}

/* ---- quoted words ----------------------------------------------------------------------------
 * A word may hold "quoted" parts, so that names and text values can carry anything a backup can:
 * inside the quotes, \" \\ \n \r \t and \xNN (any byte, NUL too in a value) are escapes, and
 * spaces, '.', '|', '#', ',' and parentheses are plain characters. Words are kept as written and
 * decoded where they are used, by unquote(). */

/* The end of the quoted part that starts at s (on the opening quote): just past the closing one. */
static const char *skip_quoted(const char *s) {
    for (s++; *s && *s != '"'; s++)
        if (*s == '\\' && s[1]) s++;
    return *s ? s + 1 : s;
}

/* The first of the characters in stop at or after s that is outside quotes (or the end). */
static const char *find_unquoted(const char *s, const char *stop) {
    while (*s && !strchr(stop, *s)) s = *s == '"' ? skip_quoted(s) : s + 1;
    return s;
}

static int hex_digit(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes s[0..n) (bare characters and quoted parts) into a new string; *len gets its length
 * (it may hold NUL bytes). NULL on a bad escape or out of memory. */
static char *unquote_n(const char *s, size_t n, size_t *len) {
    char *d = malloc(n + 1);
    size_t k = 0;
    bool quoted = false;
    for (size_t i = 0; d && i < n; i++) {
        char c = s[i];
        if (c == '"') { quoted = !quoted; continue; }
        if (quoted && c == '\\' && i + 1 < n) {
            char e = s[++i];
            if (e == 'n') c = '\n';
            else if (e == 'r') c = '\r';
            else if (e == 't') c = '\t';
            else if (e == 'x' && i + 2 < n && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
                c = (char)(hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2]));
                i += 2;
            } else if (e == '"' || e == '\\') c = e;
            else { free(d); return NULL; }
        }
        d[k++] = c;
    }
    if (d) d[k] = 0;
    if (len) *len = k;
    return d;
}

/* A name: decoded, and never holding NUL (no catalog can). NULL when it cannot be one. */
static char *name_n(const char *s, size_t n) {
    size_t len;
    char *d = unquote_n(s, n, &len);
    if (d && strlen(d) != len) { free(d); d = NULL; }
    return d;
}
static char *name_of(const char *w) { return name_n(w, strlen(w)); }

/* Splits "a.b" (either part may be quoted) into schema and name (dbo when no dot). */
static void split_name(const char *s, char **schema, char **name) {
    const char *dot = find_unquoted(s, ".");
    *schema = *dot ? name_n(s, (size_t)(dot - s)) : copy_s("dbo");
    *name = name_of(*dot ? dot + 1 : s);
}

static const struct {
    const char *name;
    uint8_t xtype;
    int16_t len;
    uint8_t prec, scale;
} TYPES[] = {
    {"bit", 104, 1, 1, 0}, {"tinyint", 48, 1, 3, 0}, {"smallint", 52, 2, 5, 0}, {"int", 56, 4, 10, 0},
    {"bigint", 127, 8, 19, 0}, {"decimal", 106, 0, 18, 0}, {"numeric", 108, 0, 18, 0}, {"money", 60, 8, 19, 4},
    {"smallmoney", 122, 4, 10, 4}, {"float", 62, 8, 53, 0}, {"real", 59, 4, 24, 0}, {"date", 40, 3, 10, 0},
    {"time", 41, 5, 16, 7}, {"datetime", 61, 8, 23, 3}, {"smalldatetime", 58, 4, 16, 0},
    {"datetime2", 42, 8, 27, 7}, {"datetimeoffset", 43, 10, 34, 7}, {"char", 175, 1, 0, 0},
    {"varchar", 167, 1, 0, 0}, {"nchar", 239, 2, 0, 0}, {"nvarchar", 231, 2, 0, 0}, {"binary", 173, 1, 0, 0},
    {"varbinary", 165, 1, 0, 0}, {"uniqueidentifier", 36, 16, 0, 0},
};

static int time_bytes(int scale) { return scale <= 2 ? 3 : scale <= 4 ? 4 : 5; }

static bool parse_type(parser *p, const char *s, dbw_column *c) {
    char base[40];
    size_t n = strcspn(s, "(");
    if (n >= sizeof base) return perr(p, "unknown type %s", s);
    memcpy(base, s, n);
    base[n] = 0;
    for (char *q = base; *q; q++) *q = (char)tolower((unsigned char)*q);
    size_t k = 0;
    while (k < sizeof TYPES / sizeof *TYPES && strcmp(TYPES[k].name, base)) k++;
    if (k == sizeof TYPES / sizeof *TYPES) return perr(p, "unknown type %s", s);
    c->xtype = TYPES[k].xtype;
    c->max_length = TYPES[k].len;
    c->precision = TYPES[k].prec;
    c->scale = TYPES[k].scale;
    const char *args = s[n] == '(' ? s + n + 1 : NULL;
    bool chars = c->xtype == 175 || c->xtype == 167 || c->xtype == 239 || c->xtype == 231 || c->xtype == 173 ||
                 c->xtype == 165;
    if (chars) {
        bool var = c->xtype == 167 || c->xtype == 231 || c->xtype == 165;
        bool wide = c->xtype == 239 || c->xtype == 231;
        if (args && !strncmp(args, "max", 3)) {
            if (!var) return perr(p, "%s: (max) only for variable types", s);
            c->max_length = -1;
        } else {
            long l = args ? strtol(args, NULL, 10) : 1;
            if (l < 1 || l > (wide ? 4000 : 8000)) return perr(p, "%s: bad length", s);
            c->max_length = (int16_t)(wide ? 2 * l : l);
        }
    } else if (c->xtype == 106 || c->xtype == 108) {
        int pr = 18, sc = 0;
        if (args && sscanf(args, "%d,%d", &pr, &sc) < 1) return perr(p, "%s: bad precision", s);
        if (pr < 1 || pr > 18 || sc < 0 || sc > pr) return perr(p, "%s: precision 1 to 18 (the generator's limit)", s);
        c->precision = (uint8_t)pr;
        c->scale = (uint8_t)sc;
        c->max_length = (int16_t)(pr <= 9 ? 5 : 9);
    } else if (c->xtype == 41 || c->xtype == 42 || c->xtype == 43) {
        int sc = args ? atoi(args) : 7;
        if (sc < 0 || sc > 7) return perr(p, "%s: scale 0 to 7", s);
        c->scale = (uint8_t)sc;
        int tb = time_bytes(sc);
        c->max_length = (int16_t)(c->xtype == 41 ? tb : c->xtype == 42 ? tb + 3 : tb + 5);
        c->precision = (uint8_t)(c->xtype == 41 ? (sc ? 9 + sc : 8) : c->xtype == 42 ? (sc ? 20 + sc : 19) : (sc ? 27 + sc : 26));
    }
    return true;
}

/* Words of a line, split at blanks outside quotes (the line is cut in place). */
static size_t words(char *line, char **w, size_t max) {
    size_t n = 0;
    char *p = line;
    while (n < max) {
        p += strspn(p, " \t\r");
        if (!*p) break;
        w[n++] = p;
        p = (char *)find_unquoted(p, " \t\r");
        if (*p) *p++ = 0;
    }
    return n;
}

static int column_index(const gtable *t, const char *name) {
    for (size_t i = 0; i < t->ncols; i++)
        if (!strcmp(t->cols[i].c.name, name)) return (int)i;
    return -1;
}

/* "(a, b)" spread over words from w[*i]: column names into idx. */
static bool name_list(parser *p, const gtable *t, char **w, size_t n, size_t *i, int *idx, size_t *count,
                      bool resolve) {
    char buf[1024] = "";
    if (*i >= n || w[*i][0] != '(') return perr(p, "expected a column list in parentheses");
    while (*i < n) {
        strncat(buf, w[*i], sizeof buf - strlen(buf) - 2);
        strcat(buf, " ");
        if (strchr(w[(*i)++], ')')) break;
    }
    *count = 0;
    for (const char *q = buf; *q;) {
        q += strspn(q, "(), ");
        const char *e = find_unquoted(q, "(), ");
        if (e == q) break;
        if (*count == DBW_MAX_KEY) return perr(p, "too many columns in a key");
        char *tok = name_n(q, (size_t)(e - q));
        int k = !tok ? -1 : resolve ? column_index(t, tok) : 0;
        free(tok);
        if (k < 0) return perr(p, "no column %.*s", (int)(e - q), q);
        idx[(*count)++] = k;
        q = e;
    }
    return *count > 0 || perr(p, "empty column list");
}

static bool parse_column(parser *p, gtable *t, char **w, size_t n) {
    if (n < 3) return perr(p, "column NAME TYPE ...");
    if (t->ncols == MAX_COLS) return perr(p, "too many columns");
    gcol *g = &t->cols[t->ncols];
    memset(g, 0, sizeof *g);
    g->nulls = 10;
    g->c.name = name_of(w[1]);
    if (!g->c.name) return perr(p, "column %s: not a name", w[1]);
    g->c.nullable = true;
    if (!parse_type(p, w[2], &g->c)) return false;
    for (size_t i = 3; i < n; i++) {
        if (!strcmp(w[i], "not") && i + 1 < n && !strcmp(w[i + 1], "null")) { g->c.nullable = false; i++; }
        else if (!strcmp(w[i], "null")) g->c.nullable = true;
        else if (!strncmp(w[i], "identity", 8)) {
            long long seed = 1, inc = 1;
            sscanf(w[i] + 8, "(%lld,%lld)", &seed, &inc);
            g->c.identity = true;
            g->c.seed = seed;
            g->c.increment = inc;
            g->c.nullable = false;
        } else if (!strcmp(w[i], "default") && i + 1 < n) g->c.default_sql = copy_s(w[++i]);
        else if (!strcmp(w[i], "range") && i + 2 < n) { g->lo = atoll(w[i + 1]); g->hi = atoll(w[i + 2]); g->has_range = true; i += 2; }
        else if (!strcmp(w[i], "len") && i + 2 < n) { g->len_lo = atoll(w[i + 1]); g->len_hi = atoll(w[i + 2]); g->has_len = true; i += 2; }
        else if (!strcmp(w[i], "nulls") && i + 1 < n) g->nulls = atoi(w[++i]);
        else if (!strcmp(w[i], "div") && i + 1 < n) g->div = atoll(w[++i]);
        else if (!strcmp(w[i], "mod") && i + 1 < n) g->mod = atoll(w[++i]);
        else if (!strcmp(w[i], "pick") && i + 1 < n) g->pick = copy_s(w[++i]);
        else if (!strcmp(w[i], "seq")) g->seq = true;
        else if (!strcmp(w[i], "unicode")) g->unicode = true;
        else return perr(p, "column %s: unknown option %s", w[1], w[i]);
    }
    t->ncols++;
    return true;
}

static bool parse_key(parser *p, gtable *t, char **w, size_t n) {
    size_t i = 2;
    if (!name_list(p, t, w, n, &i, t->pk, &t->npk, true)) return false;
    t->clustered = true;
    for (; i < n; i++) {
        if (!strcmp(w[i], "nonclustered")) t->clustered = false;
        else if (!strcmp(w[i], "clustered")) t->clustered = true;
        else if (!strcmp(w[i], "name") && i + 1 < n) t->pk_name = name_of(w[++i]);
        else return perr(p, "primary key: unknown option %s", w[i]);
    }
    return true;
}

static bool parse_fk(parser *p, const dbg_desc *d, gtable *t, char **w, size_t n) {
    dbw_fk *f = realloc(t->fks, (t->nfks + 1) * sizeof *f);
    if (!f) return perr(p, "out of memory");
    t->fks = f;
    dbw_fk *fk = &f[t->nfks];
    memset(fk, 0, sizeof *fk);
    if (n < 6) return perr(p, "foreign key NAME (COLS) references SCHEMA.TABLE (COLS)");
    fk->name = name_of(w[2]);
    size_t i = 3, nref;
    if (!name_list(p, t, w, n, &i, fk->cols, &fk->ncols, true)) return false;
    if (i + 1 >= n || strcmp(w[i], "references")) return perr(p, "foreign key: expected references");
    char *schema, *name;
    split_name(w[i + 1], &schema, &name);
    fk->ref_schema = schema;
    fk->ref_table = name;
    if (!fk->name || !schema || !name) return perr(p, "foreign key: not a name");
    i += 2;
    const gtable *ref = NULL;
    for (size_t k = 0; k < d->ntables; k++) /* declared before, or this table itself */
        if (!strcmp(d->tables[k].name, name) && !strcmp(d->tables[k].schema, schema)) ref = &d->tables[k];
    if (!ref) return perr(p, "foreign key %s: table %s.%s must be declared before", fk->name, schema, name);
    if (!name_list(p, ref, w, n, &i, fk->ref_cols, &nref, true)) return false;
    if (nref != fk->ncols) return perr(p, "foreign key %s: column counts differ", fk->name);
    t->nfks++;
    return true;
}

static bool parse_line(parser *p, dbg_desc *d, gtable **cur, char *line) {
    char *raw = copy_s(line);
    char *w[64];
    size_t n = words(line, w, 64);
    bool ok = true;
    if (!n) goto done;
    if (*cur && !strcmp(w[0], "row")) {
        gtable *t = *cur;
        char **r = realloc(t->rows, (t->nrows + 1) * sizeof *r);
        if (!r) { ok = perr(p, "out of memory"); goto done; }
        t->rows = r;
        char *text = strstr(raw, "row") + 3;
        t->rows[t->nrows++] = copy_s(text);
    } else if (*cur && !strcmp(w[0], "column")) ok = parse_column(p, *cur, w, n);
    else if (*cur && !strcmp(w[0], "primary")) ok = parse_key(p, *cur, w, n);
    else if (*cur && !strcmp(w[0], "foreign")) ok = parse_fk(p, d, *cur, w, n);
    else if (*cur && !strcmp(w[0], "generate") && n >= 2) {
        (*cur)->generate = strtoull(w[1], NULL, 10);
        if (n >= 4 && !strcmp(w[2], "seed")) (*cur)->seed = strtoull(w[3], NULL, 10);
    } else if (*cur && !strcmp(w[0], "end")) {
        if (!(*cur)->ncols) ok = perr(p, "table %s has no columns", (*cur)->name);
        *cur = NULL;
    } else if (!*cur && !strcmp(w[0], "database") && n == 2) {
        free(d->database);
        d->database = name_of(w[1]);
    } else if (!*cur && !strcmp(w[0], "schema") && n == 2) {
        if (d->nschemas == MAX_SCHEMAS) ok = perr(p, "too many schemas");
        else if (!(d->schemas[d->nschemas++] = name_of(w[1]))) ok = perr(p, "schema %s: not a name", w[1]);
    } else if (!*cur && !strcmp(w[0], "table") && n == 2) {
        if (d->ntables == MAX_TABLES) { ok = perr(p, "too many tables"); goto done; }
        gtable *t = &d->tables[d->ntables++];
        split_name(w[1], &t->schema, &t->name);
        if (!t->schema || !t->name) { ok = perr(p, "table %s: not a name", w[1]); goto done; }
        t->cols = calloc(MAX_COLS, sizeof *t->cols);
        t->seed = 1;
        if (!t->cols) ok = perr(p, "out of memory");
        *cur = t;
    } else ok = perr(p, "cannot read \"%s\"", w[0]);
done:
    free(raw);
    return ok;
}

dbg_desc *dbg_parse(const char *text, char *err, size_t errlen) {
    dbg_desc *d = calloc(1, sizeof *d);
    char *copy = copy_s(text);
    parser p = {0, err, errlen};
    gtable *cur = NULL;
    bool ok = d && copy;
    for (char *line = copy, *next; ok && line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        p.line++;
        const char *first = line + strspn(line, " \t");
        char *hash = (char *)find_unquoted(line, "#");
        if (*hash && strncmp(first, "row ", 4)) *hash = 0; /* literal rows may hold '#' */
        ok = parse_line(&p, d, &cur, line);
    }
    if (ok && cur) ok = perr(&p, "table %s: missing end", cur->name);
    if (ok && (!d->database || !d->ntables)) ok = perr(&p, "a description needs a database and tables");
    free(copy);
    if (!ok) {
        dbg_free(d);
        return NULL;
    }
    return d;
}

dbg_desc *dbg_parse_file(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno)); /* the caller names the file */
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *t = realloc(text, cap *= 2);
            if (!t) { free(text); text = NULL; }
            else text = t;
        }
    }
    fclose(f);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    text[len] = 0;
    dbg_desc *d = dbg_parse(text, err, errlen);
    free(text);
    return d;
}

void dbg_free(dbg_desc *d) {
    if (!d) return;
    for (size_t i = 0; i < d->ntables; i++) {
        gtable *t = &d->tables[i];
        for (size_t c = 0; c < t->ncols; c++) {
            free((char *)t->cols[c].c.name);
            free((char *)t->cols[c].c.default_sql);
            free(t->cols[c].pick);
        }
        for (size_t f = 0; f < t->nfks; f++) {
            free((char *)t->fks[f].name);
            free((char *)t->fks[f].ref_schema);
            free((char *)t->fks[f].ref_table);
        }
        for (size_t r = 0; r < t->nrows; r++) free(t->rows[r]);
        free(t->rows);
        free(t->fks);
        free(t->cols);
        free(t->schema);
        free(t->name);
        free(t->pk_name);
    }
    for (size_t i = 0; i < d->nschemas; i++) free(d->schemas[i]);
    free(d->database);
    free(d);
}

/* ---- values: one structured value, stored one way and rendered another ---------------------- */

typedef struct gval {
    bool null;
    int64_t i;                   /* integers, bit, scaled decimal/money, days */
    int64_t t;                   /* time of day: 100 ns units (datetime: 1/300 s ticks) */
    int tz;                      /* datetimeoffset: minutes */
    double f;
    uint8_t *bytes;              /* text (UTF-8) or binary; owned by the generator's buffer */
    size_t len;
} gval;

typedef struct gbuf {
    uint8_t *p;
    size_t len, cap;
} gbuf;

static bool gbuf_put(gbuf *b, const void *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n + 1) c *= 2;
        uint8_t *q = realloc(b->p, c);
        if (!q) return false;
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return true;
}

static bool gbuf_str(gbuf *b, const char *s) { return gbuf_put(b, s, strlen(s)); }

/* splitmix64: the generator's only source of variety */
static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r) { return r->s = mix(r->s); }
static int64_t between(rng *r, int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0: the whole 64-bit range */
    uint64_t x = span ? next(r) % span : next(r);
    return (int64_t)((uint64_t)lo + x);
}

/* Days from 0001-01-01 of a proleptic Gregorian date, and back. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 + 719162; /* 719162: days from 0001-01-01 to 1970-01-01 */
}

static void civil_from_days(int64_t days, int *y, int *m, int *d) {
    int64_t z = days - 719162 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static const int64_t DAYS_1900 = 693595; /* 1900-01-01 from 0001-01-01 */

static bool is_wide(uint8_t x) { return x == 239 || x == 231; }
static bool is_binary(uint8_t x) { return x == 173 || x == 165; }
static int64_t pow10i(int n) { int64_t v = 1; while (n-- > 0) v *= 10; return v; }

static const char *const ASCII_WORDS[] = {"alpha", "beta", "gamma", "delta", "order", "north", "river", "stone",
                                          "quick", "brown", "fox", "lamp", "market", "garden", "silver", "Oslo"};
static const char *const LATIN_WORDS[] = {"café", "Zürich", "naïve", "façade", "Ångström", "señor", "crème", "Øresund"};
static const char *const WIDE_WORDS[] = {"Ελλάδα", "日本語", "Москва", "😀", "Việt Nam", "中文", "עברית", "𝄞"};

/* Characters of a UTF-8 string in the column's units (UTF-16 code units for wide types). */
static size_t units_of(const char *s, bool wide) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) == 0x80) continue;
        n += wide && *p >= 0xF0 ? 2 : 1;
    }
    return n;
}

/* Generated text of exactly `want` units (characters; UTF-16 units when wide). */
static bool gen_text(rng *r, const gcol *g, size_t want, gbuf *out) {
    bool wide = is_wide(g->c.xtype);
    size_t have = 0;
    while (have < want) {
        const char *word;
        uint64_t k = next(r);
        if (g->unicode && wide && k % 3 == 0) word = WIDE_WORDS[(k >> 8) % 8];
        else if (g->unicode && k % 3 == 1) word = LATIN_WORDS[(k >> 8) % 8];
        else word = ASCII_WORDS[(k >> 8) % 16];
        if (have) {
            if (!gbuf_put(out, " ", 1)) return false;
            have++;
        }
        for (const unsigned char *p = (const unsigned char *)word; *p && have < want;) {
            size_t clen = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 1;
            size_t u = wide && clen == 4 ? 2 : 1;
            if (have + u > want) { /* a pair that would not fit: an ASCII letter instead */
                if (!gbuf_put(out, "x", 1)) return false;
                have++;
                break;
            }
            if (!gbuf_put(out, p, clen)) return false;
            p += clen;
            have += u;
        }
    }
    return true;
}

static bool parse_literal(const gcol *g, const char *s, gval *v, gbuf *buf);

/* One of the `pick` list's values, parsed as a literal. */
static bool gen_pick(rng *r, const gcol *g, gval *v, gbuf *buf) {
    size_t n = 1;
    for (const char *q = g->pick; *q; q++) n += *q == ',';
    size_t k = (size_t)(next(r) % n);
    const char *start = g->pick;
    for (; k; start++) k -= *start == ',';
    char item[256];
    size_t len = strcspn(start, ",");
    if (len >= sizeof item) len = sizeof item - 1;
    memcpy(item, start, len);
    item[len] = 0;
    return parse_literal(g, item, v, buf);
}

/* The generated value of column g in row `row`. */
static bool gen_value(const gtable *t, size_t col, uint64_t row, gval *v, gbuf *buf) {
    const gcol *g = &t->cols[col];
    const dbw_column *c = &g->c;
    rng r = {mix(t->seed * 0x100000001B3ull ^ mix(row) ^ ((uint64_t)col << 40))};
    memset(v, 0, sizeof *v);
    bool key = false;
    for (size_t k = 0; k < t->npk; k++) key |= (size_t)t->pk[k] == col;
    if (c->nullable && !key && (int64_t)(next(&r) % 100) < g->nulls) {
        v->null = true;
        return true;
    }
    if (g->pick) return gen_pick(&r, g, v, buf);
    int64_t lo = g->has_range ? g->lo : 0, hi = g->has_range ? g->hi : 1000;
    int64_t n = c->identity ? c->seed + (int64_t)row * c->increment
              : g->seq ? (int64_t)row + 1
              : g->div ? (int64_t)(row / (uint64_t)g->div) + 1
              : g->mod ? (int64_t)(row % (uint64_t)g->mod) + 1
              : between(&r, lo, hi);
    switch (c->xtype) {
    case 104: v->i = n & 1; break;
    case 48: v->i = n & 0xFF; break;
    case 52: case 56: case 127: v->i = n; break;
    case 106: case 108: {
        int64_t lim = pow10i(c->precision) - 1;
        v->i = (g->has_range || c->identity || g->seq) ? n * pow10i(c->scale) : (int64_t)(next(&r) % (uint64_t)lim) - lim / 2;
        if (v->i > lim || v->i < -lim) v->i %= lim;
        break;
    }
    case 60: v->i = (int64_t)(next(&r) % 2000000000000ull) - 1000000000000ll; break;
    case 122: v->i = (int64_t)(next(&r) % 400000000ull) - 200000000; break;
    case 62: case 59: /* eighths: exact in binary, so the text has one right answer */
        v->f = g->has_range ? (double)between(&r, g->lo * 8, g->hi * 8) / 8.0
             : c->xtype == 62 ? (double)((int64_t)(next(&r) % 2000001) - 1000000) / 8.0
                              : (double)((int64_t)(next(&r) % 60001) - 30000) / 8.0;
        break;
    case 40: v->i = days_from_civil(1990, 1, 1) + between(&r, 0, 15000); break;
    case 61: v->i = days_from_civil(1990, 1, 1) - DAYS_1900 + between(&r, 0, 15000);
             v->t = between(&r, 0, 86399) * 300 + 3 * between(&r, 0, 99); break;
    case 58: v->i = days_from_civil(1990, 1, 1) - DAYS_1900 + between(&r, 0, 15000); v->t = between(&r, 0, 1439); break;
    case 41: case 42: case 43: {
        int keep = c->scale < 6 ? c->scale : 6; /* PostgreSQL keeps microseconds */
        int64_t unit = pow10i(7 - keep);
        v->t = between(&r, 0, 863999999999ll / unit) * unit;
        v->i = days_from_civil(1990, 1, 1) + between(&r, 0, 15000);
        v->tz = (int)between(&r, -14 * 60, 14 * 60);
        break;
    }
    case 36:
        buf->len = 0;
        for (int k = 0; k < 16; k++) { uint8_t b = (uint8_t)next(&r); if (!gbuf_put(buf, &b, 1)) return false; }
        v->bytes = buf->p;
        v->len = 16;
        break;
    default: { /* text and binary */
        bool wide = is_wide(c->xtype);
        int64_t max = c->max_length < 0 ? 1 << 20 : wide ? c->max_length / 2 : c->max_length;
        int64_t llo = g->has_len ? g->len_lo : 0, lhi = g->has_len ? g->len_hi : (max < 40 ? max : 40);
        if (lhi > max && c->max_length >= 0) lhi = max;
        int64_t want = c->xtype == 175 || c->xtype == 239 || c->xtype == 173 ? between(&r, llo ? llo : 1, lhi)
                                                                               : between(&r, llo, lhi);
        buf->len = 0;
        if (!gbuf_put(buf, "", 0)) return false;
        if (is_binary(c->xtype)) {
            for (int64_t k = 0; k < want; k++) { uint8_t b = (uint8_t)(next(&r) >> 13); if (!gbuf_put(buf, &b, 1)) return false; }
        } else if (!gen_text(&r, g, (size_t)want, buf)) {
            return false;
        }
        v->bytes = buf->p;
        v->len = buf->len;
    }
    }
    return true;
}

/* ---- literal values ------------------------------------------------------------------------ */

static bool parse_scaled(const char *s, int scale, int64_t *out) {
    bool neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    uint64_t v = 0; /* unsigned: money's minimum has a magnitude of 2^63 */
    int frac = -1;
    for (; *s; s++) {
        if (*s == '.' && frac < 0) { frac = 0; continue; }
        if (!isdigit((unsigned char)*s)) return false;
        if (frac >= scale) continue; /* more decimals than the type keeps: cut */
        v = v * 10 + (uint64_t)(*s - '0');
        if (frac >= 0) frac++;
    }
    for (int k = frac < 0 ? 0 : frac; k < scale; k++) v *= 10;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool parse_time(const char *s, int64_t *t100ns) {
    int h, m, sec, n = 0;
    if (sscanf(s, "%d:%d:%d%n", &h, &m, &sec, &n) < 3) return false;
    int64_t frac = 0;
    if (s[n] == '.') {
        int digits = 0;
        for (const char *q = s + n + 1; isdigit((unsigned char)*q) && digits < 7; q++, digits++) frac = frac * 10 + (*q - '0');
        frac *= pow10i(7 - digits);
    }
    *t100ns = ((int64_t)h * 3600 + m * 60 + sec) * 10000000 + frac;
    return true;
}

static bool parse_literal(const gcol *g, const char *s, gval *v, gbuf *buf) {
    const dbw_column *c = &g->c;
    memset(v, 0, sizeof *v);
    if (!strcmp(s, "NULL")) { v->null = true; return true; }
    int y, mo, d, n = 0;
    switch (c->xtype) {
    case 104: v->i = !strcmp(s, "1") || !strcmp(s, "true"); return true;
    case 48: case 52: case 56: case 127: v->i = strtoll(s, NULL, 10); return true;
    case 106: case 108: return parse_scaled(s, c->scale, &v->i);
    case 60: case 122: return parse_scaled(s, 4, &v->i);
    case 62: case 59: v->f = strtod(s, NULL); return true;
    case 40: case 42: case 43: case 61: case 58:
        if (sscanf(s, "%d-%d-%d%n", &y, &mo, &d, &n) < 3) return false;
        v->i = days_from_civil(y, mo, d);
        if (c->xtype == 61 || c->xtype == 58) v->i -= DAYS_1900;
        if (c->xtype == 40) return true;
        if (s[n] == ' ' && !parse_time(s + n + 1, &v->t)) return false;
        if (c->xtype == 61) v->t = v->t / 10000 * 3 / 10; /* ms to ticks (ms multiple of 10) */
        if (c->xtype == 58) v->t = v->t / 600000000;
        if (c->xtype == 43) {
            const char *z = strpbrk(s + n + 1, "+-");
            int zh = 0, zm = 0;
            if (z && sscanf(z + 1, "%d:%d", &zh, &zm) >= 1) v->tz = (*z == '-' ? -1 : 1) * (zh * 60 + zm);
            int64_t utc = v->t - (int64_t)v->tz * 600000000;
            int64_t day = 864000000000ll;
            while (utc < 0) { utc += day; v->i--; }
            while (utc >= day) { utc -= day; v->i++; }
            v->t = utc;
        }
        return true;
    case 41: return parse_time(s, &v->t);
    case 36: {
        buf->len = 0;
        for (const char *q = s; *q; q++) {
            if (*q == '-') continue;
            unsigned b;
            if (sscanf(q, "%2x", &b) != 1) return false;
            uint8_t x = (uint8_t)b;
            if (!gbuf_put(buf, &x, 1)) return false;
            q++;
        }
        v->bytes = buf->p;
        v->len = buf->len;
        return v->len == 16;
    }
    default:
        buf->len = 0;
        if (!gbuf_put(buf, "", 0)) return false;
        if (is_binary(c->xtype)) {
            if (strncmp(s, "0x", 2)) return false;
            for (const char *q = s + 2; q[0] && q[1]; q += 2) {
                unsigned b;
                if (sscanf(q, "%2x", &b) != 1) return false;
                uint8_t x = (uint8_t)b;
                if (!gbuf_put(buf, &x, 1)) return false;
            }
        } else if (s[0] == '"') { /* quoted text: escapes, NUL bytes too */
            size_t text_len;
            char *text = unquote_n(s, strlen(s), &text_len);
            bool ok = text && gbuf_put(buf, text, text_len);
            free(text);
            if (!ok) return false;
        } else if (strcmp(s, "''") && !gbuf_str(buf, s)) {
            return false;
        }
        v->bytes = buf->p;
        v->len = buf->len;
        return true;
    }
}

/* ---- storage encoding (what the writer stores) -------------------------------------------- */

static void put_time(uint8_t *p, int64_t t100, int scale) {
    uint64_t units = (uint64_t)(t100 / pow10i(7 - scale));
    for (int k = 0; k < time_bytes(scale); k++) p[k] = (uint8_t)(units >> (8 * k));
}

static void put_date(uint8_t *p, int64_t days) {
    for (int k = 0; k < 3; k++) p[k] = (uint8_t)((uint64_t)days >> (8 * k));
}

/* Windows-1252 bytes of UTF-8 text (the generator's single-byte text is Latin-1 letters). */
static bool to_cp1252(const uint8_t *s, size_t len, gbuf *out) {
    for (size_t i = 0; i < len;) {
        uint32_t cp = s[i];
        size_t clen = cp >= 0xF0 ? 4 : cp >= 0xE0 ? 3 : cp >= 0xC0 ? 2 : 1;
        if (clen == 2 && i + 1 < len) cp = (cp & 0x1F) << 6 | (s[i + 1] & 0x3F);
        uint8_t b = cp < 0x100 && (cp < 0x80 || cp >= 0xA0) ? (uint8_t)cp : '?';
        if (!gbuf_put(out, &b, 1)) return false;
        i += clen;
    }
    return true;
}

static bool utf16_of(const uint8_t *s, size_t len, gbuf *out) {
    char *z = copy_n((const char *)s, len);
    if (!z) return false;
    size_t cap = 2 * len + 2;
    uint8_t *u = malloc(cap);
    bool ok = u && gbuf_put(out, u, dbw_utf16(z, u, cap));
    free(u);
    free(z);
    return ok;
}

/* The stored bytes of v into out (reset first). */
static bool encode(const dbw_column *c, const gval *v, gbuf *out) {
    uint8_t b[32] = {0};
    size_t n = 0;
    out->len = 0;
    if (!gbuf_put(out, "", 0)) return false;
    switch (c->xtype) {
    case 104: case 48: b[0] = (uint8_t)v->i; n = 1; break;
    case 52: b2p_put_le16(b, (uint16_t)v->i); n = 2; break;
    case 56: case 122: b2p_put_le32(b, (uint32_t)v->i); n = 4; break;
    case 127: case 60: b2p_put_le64(b, (uint64_t)v->i); n = 8; break;
    case 106: case 108:
        n = (size_t)c->max_length;
        b[0] = v->i >= 0;
        b2p_put_le64(b + 1, (uint64_t)(v->i >= 0 ? v->i : -v->i));
        break;
    case 62: { uint64_t x; memcpy(&x, &v->f, 8); b2p_put_le64(b, x); n = 8; break; }
    case 59: { float f = (float)v->f; uint32_t x; memcpy(&x, &f, 4); b2p_put_le32(b, x); n = 4; break; }
    case 40: put_date(b, v->i); n = 3; break;
    case 61: b2p_put_le32(b, (uint32_t)v->t); b2p_put_le32(b + 4, (uint32_t)v->i); n = 8; break;
    case 58: b2p_put_le16(b, (uint16_t)v->t); b2p_put_le16(b + 2, (uint16_t)v->i); n = 4; break;
    case 41: put_time(b, v->t, c->scale); n = (size_t)time_bytes(c->scale); break;
    case 42: case 43:
        put_time(b, v->t, c->scale);
        n = (size_t)time_bytes(c->scale);
        put_date(b + n, v->i);
        n += 3;
        if (c->xtype == 43) { b2p_put_le16(b + n, (uint16_t)(int16_t)v->tz); n += 2; }
        break;
    case 36: /* the first three groups little-endian (.NET order) */
        for (int k = 0; k < 4; k++) b[k] = v->bytes[3 - k];
        b[4] = v->bytes[5]; b[5] = v->bytes[4]; b[6] = v->bytes[7]; b[7] = v->bytes[6];
        memcpy(b + 8, v->bytes + 8, 8);
        n = 16;
        break;
    default: {
        bool ok = is_binary(c->xtype) ? gbuf_put(out, v->bytes, v->len)
                : is_wide(c->xtype) ? utf16_of(v->bytes, v->len, out) : to_cp1252(v->bytes, v->len, out);
        if (!ok) return false;
        size_t fixed = c->xtype == 175 || c->xtype == 239 || c->xtype == 173 ? (size_t)c->max_length : 0;
        while (out->len < fixed) { /* char(n), nchar(n) blank-padded; binary(n) zero-padded */
            uint8_t pad[2] = {c->xtype == 173 ? 0 : 0x20, 0};
            if (!gbuf_put(out, pad, c->xtype == 239 ? 2 : 1)) return false;
        }
        return true;
    }
    }
    return gbuf_put(out, b, n);
}

/* ---- rendering (what bak2pg dump --format copy must print) -------------------------------- */

static bool put_fmt(gbuf *o, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return gbuf_str(o, tmp);
}

static bool render_scaled(gbuf *o, int64_t v, int scale) {
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t p = (uint64_t)pow10i(scale);
    if (!put_fmt(o, "%s%llu", v < 0 ? "-" : "", (unsigned long long)(mag / p))) return false;
    return !scale || put_fmt(o, ".%0*llu", scale, (unsigned long long)(mag % p));
}

/* PostgreSQL's shortest round-trip text: plain for decimal exponents in [-4, limit), else
 * d.ddde±XX. */
static bool render_float(gbuf *o, double x, bool single) {
    if (x == 0) return gbuf_str(o, "0");
    char e[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, x);
        if (single ? strtof(e, NULL) == (float)x : strtod(e, NULL) == x) break;
    }
    char *ep = strchr(e, 'e');
    int exp10 = atoi(ep + 1);
    *ep = 0;
    char digits[32];
    size_t nd = 0;
    bool neg = e[0] == '-';
    for (char *q = e; *q; q++)
        if (isdigit((unsigned char)*q)) digits[nd++] = *q;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    if (neg && !gbuf_str(o, "-")) return false;
    if (exp10 < -4 || exp10 >= (single ? 6 : 15)) {
        if (!put_fmt(o, "%c", digits[0])) return false;
        if (nd > 1 && !put_fmt(o, ".%s", digits + 1)) return false;
        return put_fmt(o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    }
    if (exp10 < 0) {
        if (!gbuf_str(o, "0.")) return false;
        for (int k = -1; k > exp10; k--) if (!gbuf_str(o, "0")) return false;
        return gbuf_str(o, digits);
    }
    for (int k = 0; k <= exp10; k++) if (!put_fmt(o, "%c", (size_t)k < nd ? digits[k] : '0')) return false;
    if ((size_t)exp10 + 1 < nd && !put_fmt(o, ".%s", digits + exp10 + 1)) return false;
    return true;
}

static bool render_date(gbuf *o, int64_t days) {
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    return put_fmt(o, "%04d-%02d-%02d", y, m, d);
}

/* HH:MM:SS with the fraction (digits of `unit` 100 ns) trailing zeros dropped. */
static bool render_time(gbuf *o, int64_t t100) {
    int64_t sec = t100 / 10000000, frac = t100 % 10000000;
    if (!put_fmt(o, "%02lld:%02lld:%02lld", (long long)(sec / 3600), (long long)(sec / 60 % 60), (long long)(sec % 60)))
        return false;
    if (!frac) return true;
    char f[16];
    snprintf(f, sizeof f, "%07lld", (long long)frac);
    size_t n = strlen(f);
    while (n && f[n - 1] == '0') f[--n] = 0;
    return put_fmt(o, ".%s", f);
}

/* As PostgreSQL's COPY TO writes text: backslash and \b \f \n \r \t \v escaped, the rest as is. */
static bool render_copy_text(gbuf *o, const uint8_t *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '\n' ? "\\n" : s[i] == '\t' ? "\\t" : s[i] == '\r' ? "\\r"
                        : s[i] == '\b' ? "\\b" : s[i] == '\f' ? "\\f" : s[i] == '\v' ? "\\v" : NULL;
        if (esc ? !gbuf_str(o, esc) : !gbuf_put(o, s + i, 1)) return false;
    }
    return true;
}

static bool render(const dbw_column *c, const gval *v, gbuf *o) {
    if (v->null) return gbuf_str(o, "\\N");
    switch (c->xtype) {
    case 104: return gbuf_str(o, v->i ? "t" : "f");
    case 48: case 52: case 56: case 127: return put_fmt(o, "%lld", (long long)v->i);
    case 106: case 108: return render_scaled(o, v->i, c->scale);
    case 60: case 122: return render_scaled(o, v->i, 4);
    case 62: return render_float(o, v->f, false);
    case 59: return render_float(o, v->f, true);
    case 40: return render_date(o, v->i);
    case 61: {
        int64_t ms = v->t * 10 / 3;
        if (!render_date(o, v->i + DAYS_1900) || !gbuf_str(o, " ")) return false;
        return render_time(o, ms * 10000);
    }
    case 58: return render_date(o, v->i + DAYS_1900) && put_fmt(o, " %02lld:%02lld:00", (long long)(v->t / 60), (long long)(v->t % 60));
    case 41: return render_time(o, v->t);
    case 42: return render_date(o, v->i) && gbuf_str(o, " ") && render_time(o, v->t);
    case 43: return render_date(o, v->i) && gbuf_str(o, " ") && render_time(o, v->t) && gbuf_str(o, "+00");
    case 36: {
        static const int dash[] = {4, 6, 8, 10};
        for (int k = 0, d = 0; k < 16; k++) {
            if (d < 4 && k == dash[d]) { if (!gbuf_str(o, "-")) return false; d++; }
            if (!put_fmt(o, "%02x", v->bytes[k])) return false;
        }
        return true;
    }
    default:
        if (is_binary(c->xtype)) {
            if (!gbuf_str(o, "\\\\x")) return false;
            for (size_t k = 0; k < v->len; k++) if (!put_fmt(o, "%02x", v->bytes[k])) return false;
            if (c->xtype == 173) for (size_t k = v->len; k < (size_t)c->max_length; k++) if (!gbuf_str(o, "00")) return false;
            return true;
        }
        if (!render_copy_text(o, v->bytes, v->len)) return false;
        if (c->xtype == 175 || c->xtype == 239) { /* blank-padded to n characters */
            size_t n = c->xtype == 239 ? (size_t)c->max_length / 2 : (size_t)c->max_length;
            char *z = copy_n((const char *)v->bytes, v->len);
            size_t have = z ? units_of(z, false) : n; /* PostgreSQL char(n) counts characters */
            free(z);
            for (; have < n; have++) if (!gbuf_str(o, " ")) return false;
        }
        return true;
    }
}

/* ---- the database -------------------------------------------------------------------------- */

typedef struct gen_state {
    dbw *w;
    gbuf *enc;                   /* per column: stored bytes */
    gbuf *src;                   /* per column: the generated value's text/binary */
    gbuf line;
    dbw_value *values;
    gval *g;
} gen_state;

static bool table_def(const gtable *t, dbw_table_def *def, dbw_column *cols) {
    memset(def, 0, sizeof *def);
    for (size_t i = 0; i < t->ncols; i++) cols[i] = t->cols[i].c;
    def->schema = t->schema;
    def->name = t->name;
    def->columns = cols;
    def->ncolumns = t->ncols;
    def->npk = t->npk;
    memcpy(def->pk, t->pk, sizeof def->pk);
    def->clustered = t->npk && t->clustered;
    def->pk_name = t->pk_name;
    def->fks = t->fks;
    def->nfks = t->nfks;
    return true;
}

/* Splits a literal row on '|' (spaces around each value trimmed). */
static size_t split_row(char *s, char **out, size_t max) {
    size_t n = 0;
    for (char *p = s; p && n < max;) {
        char *bar = (char *)find_unquoted(p, "|");
        if (*bar) *bar = 0;
        else bar = NULL;
        while (*p == ' ' || *p == '\t') p++;
        char *e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = 0;
        out[n++] = p;
        p = bar ? bar + 1 : NULL;
    }
    return n;
}

static bool write_table(gen_state *s, const gtable *t, uint64_t nrows, FILE *expect, char *err, size_t errlen) {
    for (uint64_t row = 0; row < t->nrows + nrows; row++) {
        char *lit[MAX_COLS];
        char *copy = NULL;
        if (row < t->nrows) {
            copy = copy_s(t->rows[row]);
            if (!copy || split_row(copy, lit, MAX_COLS) != t->ncols) {
                free(copy);
                snprintf(err, errlen, "%s.%s: literal row %llu has the wrong number of values", t->schema, t->name,
                         (unsigned long long)row + 1);
                return false;
            }
        }
        s->line.len = 0;
        for (size_t c = 0; c < t->ncols; c++) {
            gval *v = &s->g[c];
            bool ok = row < t->nrows ? parse_literal(&t->cols[c], lit[c], v, &s->src[c])
                                     : gen_value(t, c, row, v, &s->src[c]);
            if (ok && !v->null) ok = encode(&t->cols[c].c, v, &s->enc[c]);
            if (!ok) {
                free(copy);
                snprintf(err, errlen, "%s.%s row %llu column %s: bad value", t->schema, t->name,
                         (unsigned long long)row + 1, t->cols[c].c.name);
                return false;
            }
            s->values[c] = v->null ? (dbw_value){NULL, 0, true} : (dbw_value){s->enc[c].p, s->enc[c].len, false};
            if (expect && ((c && !gbuf_str(&s->line, "\t")) || !render(&t->cols[c].c, v, &s->line))) {
                free(copy);
                snprintf(err, errlen, "out of memory");
                return false;
            }
        }
        free(copy);
        if (!dbw_row(s->w, s->values)) {
            snprintf(err, errlen, "%s.%s row %llu: %s", t->schema, t->name, (unsigned long long)row + 1, dbw_error(s->w));
            return false;
        }
        if (expect && (fwrite(s->line.p, 1, s->line.len, expect) != s->line.len || fputc('\n', expect) == EOF)) {
            snprintf(err, errlen, "writing the expected rows failed");
            return false;
        }
    }
    return true;
}

bool dbg_write(const dbg_desc *d, FILE *out, const dbg_write_options *o, char *err, size_t errlen) {
    dbg_write_options opt = o ? *o : (dbg_write_options){0};
    if (opt.scale <= 0) opt.scale = 1;
    dbw_options wo = {.database_name = d->database};
    gen_state s;
    memset(&s, 0, sizeof s);
    s.w = dbw_open(&wo);
    s.enc = calloc(MAX_COLS, sizeof *s.enc);
    s.src = calloc(MAX_COLS, sizeof *s.src);
    s.values = calloc(MAX_COLS, sizeof *s.values);
    s.g = calloc(MAX_COLS, sizeof *s.g);
    dbw_column *cols = calloc(MAX_COLS, sizeof *cols);
    bool ok = s.w && s.enc && s.src && s.values && s.g && cols;
    if (!ok) snprintf(err, errlen, "out of memory (or no temporary file)");
    for (size_t i = 0; ok && i < d->nschemas; i++) ok = dbw_schema(s.w, d->schemas[i]);
    for (size_t i = 0; ok && i < d->ntables; i++) {
        const gtable *t = &d->tables[i];
        dbw_table_def def;
        table_def(t, &def, cols);
        FILE *expect = NULL;
        if (opt.expect_dir) {
            char path[4096];
            b2p_buf file = {0};
            ok = b2p_table_file_name(&file, t->schema, t->name, "copy", NULL) == B2P_OK;
            snprintf(path, sizeof path, "%s/%s", opt.expect_dir, ok ? file.data : "");
            b2p_buf_free(&file);
            if (!ok || !(expect = fopen(path, "wb"))) {
                snprintf(err, errlen, "%s: cannot create", path);
                ok = false;
                break;
            }
        }
        uint64_t n = (uint64_t)((double)t->generate * opt.scale + 0.5);
        ok = dbw_table_begin(s.w, &def);
        if (!ok) snprintf(err, errlen, "%s", dbw_error(s.w));
        ok = ok && write_table(&s, t, n, expect, err, errlen);
        if (ok && !dbw_table_end(s.w)) {
            snprintf(err, errlen, "%s", dbw_error(s.w));
            ok = false;
        }
        if (expect && fclose(expect) != 0) ok = false;
    }
    if (ok && !dbw_finish(s.w, out, opt.compress)) {
        snprintf(err, errlen, "%s", dbw_error(s.w));
        ok = false;
    } else if (ok) {
        s.w = NULL;
    }
    dbw_abort(s.w);
    for (size_t i = 0; s.enc && i < MAX_COLS; i++) free(s.enc[i].p);
    for (size_t i = 0; s.src && i < MAX_COLS; i++) free(s.src[i].p);
    free(s.enc);
    free(s.src);
    free(s.values);
    free(s.g);
    free(s.line.p);
    free(cols);
    return ok;
}
