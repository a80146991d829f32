/* The audit's figures and findings, from the COPY text of each row (see audit.h for the rules). */
#include "audit/audit.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <xxhash.h>

#include "audit/audit_int.h"

static const char *const finding_names[B2P_FIND_KINDS] = {
    "orphan-fk", "padding-case-match", "future-date", "pre-1900-date", "bad-email", "bad-phone", "bad-url",
    "nul-in-text", "undefined-code-page-bytes", "binary-text", "hex-digest-in-text", "numeric-near-limit",
    "identity-near-end", "untrusted-or-disabled-fk", "duplicate-in-disabled-unique", "disabled-check",
};

const char *b2p_finding_name(b2p_finding_kind k) {
    return k < B2P_FIND_KINDS ? finding_names[k] : "?";
}

/* ---- a set of 64-bit hashes (open addressing; 0 stands for itself by a flag) ---------------- */

/* 1 when added, 0 when there already, -1 out of memory. */
static int set_add(b2p_hashset *s, uint64_t h) {
    if (!h) {
        bool had = s->has_zero;
        s->has_zero = true;
        return had ? 0 : 1;
    }
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        uint64_t *nv = calloc(ncap, sizeof *nv);
        if (!nv) return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i]) {
                size_t j = s->v[i] & (ncap - 1);
                while (nv[j]) j = (j + 1) & (ncap - 1);
                nv[j] = s->v[i];
            }
        free(s->v);
        s->v = nv;
        s->cap = ncap;
    }
    size_t j = h & (s->cap - 1);
    while (s->v[j]) {
        if (s->v[j] == h) return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->v[j] = h;
    s->n++;
    return 1;
}

static bool set_has(const b2p_hashset *s, uint64_t h) {
    if (!h) return s->has_zero;
    if (!s->cap) return false;
    for (size_t j = h & (s->cap - 1); s->v[j]; j = (j + 1) & (s->cap - 1))
        if (s->v[j] == h) return true;
    return false;
}

/* FNV-1a then a final mix (splitmix64): good enough spread for HyperLogLog and the key sets. */
static uint64_t hash_bytes(const char *p, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- HyperLogLog -------------------------------------------------------------------------- */

static void hll_add(uint8_t *reg, uint64_t h) {
    unsigned idx = (unsigned)(h >> (64 - B2P_AUDIT_HLL_BITS));
    uint64_t rest = h << B2P_AUDIT_HLL_BITS;
    unsigned max_rank = 64 - B2P_AUDIT_HLL_BITS + 1;
    uint8_t rank = (uint8_t)(rest ? (unsigned)__builtin_clzll(rest) + 1 : max_rank);
    if (rank > max_rank) rank = (uint8_t)max_rank;
    if (rank > reg[idx]) reg[idx] = rank;
}

uint64_t b2p_audit_distinct(const b2p_audit_column *c) {
    const double m = 1u << B2P_AUDIT_HLL_BITS;
    double sum = 0;
    unsigned zeros = 0;
    for (unsigned i = 0; i < (1u << B2P_AUDIT_HLL_BITS); i++) {
        sum += ldexp(1.0, -c->hll[i]);
        zeros += !c->hll[i];
    }
    double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * log(m / zeros); /* linear counting for small sets */
    uint64_t r = (uint64_t)(e + 0.5);
    return r > c->nonnull ? c->nonnull : r;
}

/* ---- the audit ---------------------------------------------------------------------------- */

b2p_status b2p_audit_new(const b2p_catalog *cat, const char *backup_date, size_t ntables, b2p_audit **out,
                          b2p_error *err) {
    b2p_audit *a = calloc(1, sizeof *a);
    if (!a || !(a->tables = calloc(ntables ? ntables : 1, sizeof *a->tables)) ||
        !(a->keysets = calloc(cat->ntables ? cat->ntables : 1, sizeof *a->keysets))) {
        if (a) free(a->tables);
        free(a);
        return b2p_fail(err, B2P_ERR_NOMEM, "out of memory starting the audit");
    }
    a->cat = cat;
    a->ntables = ntables;
    pthread_mutex_init(&a->mu, NULL);
    snprintf(a->backup_date, sizeof a->backup_date, "%s", backup_date ? backup_date : "");
    *out = a;
    return B2P_OK;
}

static void free_samples(char **s, size_t n) {
    for (size_t i = 0; i < n; i++) free(s[i]);
}

void b2p_audit_free(b2p_audit *a) {
    if (!a) return;
    for (size_t i = 0; i < a->ntables; i++) {
        b2p_audit_table *t = &a->tables[i];
        for (size_t j = 0; j < t->ncolumns; j++) {
            b2p_audit_column *c = &t->columns[j];
            b2p_buf_free(&c->min);
            b2p_buf_free(&c->max);
            free_samples(c->s_future, c->nfuture);
            free_samples(c->s_pre1900, c->npre1900);
            free_samples(c->s_email, c->nbad_email);
            free_samples(c->s_phone, c->nbad_phone);
            free_samples(c->s_url, c->nbad_url);
            free_samples(c->s_near, c->nnear);
        }
        free(t->columns);
    }
    for (size_t i = 0; i < a->cat->ntables; i++) {
        for (size_t k = 0; k < a->keysets[i].nfks; k++) {
            free(a->keysets[i].fks[k].exact.v);
            free(a->keysets[i].fks[k].folded.v);
        }
        free(a->keysets[i].fks);
    }
    free(a->keysets);
    for (size_t i = 0; i < a->nfindings; i++) {
        free(a->findings[i].subject);
        free(a->findings[i].detail);
        free_samples(a->findings[i].samples, a->findings[i].nsamples);
    }
    free(a->findings);
    free(a->tables);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void b2p_audit_on_progress(b2p_audit *a, void (*fn)(void *ctx, const b2p_cat_table *t, uint64_t rows), void *ctx) {
    a->progress = fn;
    a->progress_ctx = ctx;
}

size_t b2p_audit_ntables(const b2p_audit *a) { return a->ntables; }
const b2p_audit_table *b2p_audit_table_at(const b2p_audit *a, size_t i) { return &a->tables[i]; }
size_t b2p_audit_nfindings(const b2p_audit *a) { return a->nfindings; }
const b2p_finding *b2p_audit_finding_at(const b2p_audit *a, size_t i) { return &a->findings[i]; }

static char *dup_n(const char *s, size_t n) {
    if (n > 200) n = 200; /* a sample shows the start of a long value */
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static void keep_sample(char **samples, size_t *n, const char *v, size_t len) {
    if (*n < B2P_AUDIT_SAMPLES && (samples[*n] = dup_n(v, len))) (*n)++;
}

/* Adds a finding (any worker: under the audit's lock); samples[0..*n) move into it. */
static void add_finding(b2p_audit *a, b2p_finding_kind k, const b2p_cat_table *t, const char *subject,
                        uint64_t count, const char *detail, char **samples, size_t *n) {
    pthread_mutex_lock(&a->mu);
    if (a->nfindings == a->cap_findings) {
        size_t ncap = a->cap_findings ? a->cap_findings * 2 : 16;
        b2p_finding *nf = realloc(a->findings, ncap * sizeof *nf);
        if (!nf) {
            a->findings_lost = true;
            pthread_mutex_unlock(&a->mu);
            return;
        }
        a->findings = nf;
        a->cap_findings = ncap;
    }
    b2p_finding *f = &a->findings[a->nfindings++];
    *f = (b2p_finding){.kind = k, .table = t, .count = count};
    f->subject = dup_n(subject ? subject : "", subject ? strlen(subject) : 0);
    f->detail = dup_n(detail, strlen(detail));
    for (size_t i = 0; samples && i < *n; i++) f->samples[i] = samples[i];
    if (samples) {
        f->nsamples = *n;
        *n = 0;
    }
    pthread_mutex_unlock(&a->mu);
}

/* ---- classifying columns ------------------------------------------------------------------ */

static bool type_is(const b2p_cat_column *c, const char *const *names) {
    for (; *names; names++)
        if (!strcmp(c->type_name, *names)) return true;
    return false;
}

static bool is_date(const b2p_cat_column *c) {
    static const char *const n[] = {"date", "datetime", "datetime2", "smalldatetime", "datetimeoffset", NULL};
    return type_is(c, n);
}

static bool is_text(const b2p_cat_column *c) {
    static const char *const n[] = {"char", "varchar", "text", "nchar", "nvarchar", "ntext", NULL};
    return type_is(c, n) && !c->cast;
}

static bool is_ansi_text(const b2p_cat_column *c) {
    static const char *const n[] = {"char", "varchar", "text", NULL};
    return type_is(c, n) && !c->cast;
}

static bool is_numeric_type(const b2p_cat_column *c) {
    static const char *const n[] = {"tinyint", "smallint", "int", "bigint", "decimal", "numeric", "real",
                                    "float", "money", "smallmoney", NULL};
    return type_is(c, n);
}

static bool name_has(const char *name, const char *const *words) {
    char low[256];
    size_t i = 0;
    for (; name[i] && i < sizeof low - 1; i++) low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = 0;
    for (; *words; words++)
        if (strstr(low, *words)) return true;
    return false;
}

static bool named_email(const b2p_cat_column *c) {
    static const char *const w[] = {"mail", NULL};
    return name_has(c->name, w);
}
static bool named_phone(const b2p_cat_column *c) {
    static const char *const w[] = {"phone", "tel", "fax", "mobile", NULL};
    return name_has(c->name, w) && !strstr(c->name, "Hotel") && !strstr(c->name, "hotel");
}
static bool named_url(const b2p_cat_column *c) {
    static const char *const w[] = {"url", "website", "homepage", "link", NULL};
    return name_has(c->name, w);
}

/* ---- value checks -------------------------------------------------------------------------- */

static bool fits_email(const char *v, size_t n) {
    const char *at = memchr(v, '@', n);
    if (!at || at == v) return false;
    size_t dom = n - (size_t)(at - v) - 1;
    const char *d = at + 1;
    if (!dom || memchr(d, '@', dom)) return false;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)v[i]) || v[i] == '\\') return false;
    const char *dot = NULL;
    for (size_t i = 0; i < dom; i++) {
        unsigned char ch = (unsigned char)d[i];
        if (ch == '.') dot = d + i;
        else if (ch < 0x80 && !isalnum(ch) && ch != '-') return false; /* a host name (IDN: any non-ASCII) */
    }
    return dot && dot > d && dot < d + dom - 1;
}

static bool fits_phone(const char *v, size_t n) {
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (isdigit(ch)) digits++;
        else if (!strchr(" +-().x/", ch)) return false;
    }
    return digits >= 5 && digits <= 20;
}

static bool fits_url(const char *v, size_t n) {
    return (n > 7 && !strncmp(v, "http://", 7)) || (n > 8 && !strncmp(v, "https://", 8)) ||
           (n > 4 && !strncmp(v, "www.", 4));
}

static bool looks_binary(const char *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) return true; /* COPY text escapes \t \n \r */
    return false;
}

static bool is_hex_digest(const char *v, size_t n) {
    if (n != 32 && n != 40 && n != 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)v[i])) return false;
    return true;
}

/* 0 when v is not a number (PostgreSQL's text of one). */
static bool parse_number(const char *v, size_t n, double *out) {
    char tmp[64];
    if (!n || n >= sizeof tmp) return false;
    memcpy(tmp, v, n);
    tmp[n] = 0;
    char *end;
    *out = strtod(tmp, &end);
    return *end == 0;
}

/* Whether v is -?digits[.digits], the text of every integer, decimal and money value. */
static bool plain_decimal(const char *v, size_t n) {
    size_t i = n && v[0] == '-';
    bool digit = false, dot = false;
    for (; i < n; i++) {
        if (isdigit((unsigned char)v[i])) digit = true;
        else if (v[i] == '.' && !dot) dot = true;
        else return false;
    }
    return digit;
}

/* Compares two plain decimals' magnitudes: integer part by length then digits, then fraction. */
static int compare_magnitude(const char *a, size_t an, const char *b, size_t bn) {
    while (an > 1 && *a == '0' && a[1] != '.') a++, an--;
    while (bn > 1 && *b == '0' && b[1] != '.') b++, bn--;
    const char *ad = memchr(a, '.', an), *bd = memchr(b, '.', bn);
    size_t ai = ad ? (size_t)(ad - a) : an, bi = bd ? (size_t)(bd - b) : bn;
    if (ai != bi) return ai < bi ? -1 : 1;
    int r = memcmp(a, b, ai);
    if (r) return r < 0 ? -1 : 1;
    const char *af = ad ? ad + 1 : "", *bf = bd ? bd + 1 : "";
    size_t afn = ad ? an - ai - 1 : 0, bfn = bd ? bn - bi - 1 : 0;
    for (size_t i = 0; i < afn || i < bfn; i++) {
        char x = i < afn ? af[i] : '0', y = i < bfn ? bf[i] : '0';
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

static int compare_decimal(const char *a, size_t an, const char *b, size_t bn) {
    bool na = a[0] == '-', nb = b[0] == '-';
    if (na != nb) return na ? -1 : 1; /* (-0 does not occur in PostgreSQL's text) */
    int r = compare_magnitude(a + na, an - na, b + nb, bn - nb);
    return na ? -r : r;
}

/* The largest magnitude of c's PostgreSQL type, for integers; 0 when not an integer type. */
static double integer_limit(const b2p_cat_column *c) {
    if (!strcmp(c->type_name, "tinyint") || !strcmp(c->type_name, "smallint")) return 32767.0;
    if (!strcmp(c->type_name, "int")) return 2147483647.0;
    if (!strcmp(c->type_name, "bigint")) return 9223372036854775807.0;
    return 0;
}

static bool near_limit(const b2p_cat_column *c, const char *v, size_t n) {
    double lim = integer_limit(c), x;
    if (lim > 0) return parse_number(v, n, &x) && fabs(x) >= 0.9 * lim;
    if (strcmp(c->type_name, "decimal") && strcmp(c->type_name, "numeric")) return false;
    size_t i = (n && v[0] == '-') ? 1 : 0, digits = 0;
    size_t first = i;
    while (i < n && isdigit((unsigned char)v[i])) i++, digits++;
    unsigned room = c->precision > c->scale ? (unsigned)(c->precision - c->scale) : 0;
    return room && digits == room && v[first] == '9';
}

enum { K_OTHER, K_DATE, K_TEXT, K_INTEGER, K_DECIMAL, K_NUMBER };

/* Decides once how c's values are checked (the type names compared per column, not per value). */
static void classify(b2p_audit_column *c) {
    const b2p_cat_column *col = c->col;
    c->limit = integer_limit(col);
    if (is_date(col)) c->klass = K_DATE;
    else if (is_text(col)) c->klass = K_TEXT;
    else if (c->limit > 0) c->klass = K_INTEGER;
    else if (!strcmp(col->type_name, "decimal") || !strcmp(col->type_name, "numeric")) c->klass = K_DECIMAL;
    else if (is_numeric_type(col)) c->klass = K_NUMBER;
    else c->klass = K_OTHER;
}

/* Whether the integer text v is at 90% of limit or beyond, without parsing a double per value. */
static bool integer_near_limit(const char *v, size_t n, double limit) {
    size_t neg = n && v[0] == '-';
    if (n - neg < 5) return false; /* every limit here has 5 digits or more */
    double x = 0;
    for (size_t i = neg; i < n; i++) x = x * 10 + (v[i] - '0');
    return x >= 0.9 * limit;
}

static int class_compare(const b2p_audit_column *c, const char *a, size_t an, const char *b, size_t bn) {
    if ((c->klass == K_INTEGER || c->klass == K_DECIMAL) && an && bn) return compare_decimal(a, an, b, bn);
    if (c->klass == K_NUMBER) {
        double x, y;
        if (plain_decimal(a, an) && plain_decimal(b, bn)) return compare_decimal(a, an, b, bn);
        if (parse_number(a, an, &x) && parse_number(b, bn, &y)) return (x > y) - (x < y);
    }
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : (an > bn) - (an < bn);
}

static void column_value(b2p_audit *a, b2p_audit_column *c, const char *v, size_t n) {
    if (n == 2 && v[0] == '\\' && v[1] == 'N') {
        c->nulls++;
        return;
    }
    c->nonnull++;
    hll_add(c->hll, XXH3_64bits(v, n));
    if (n > c->longest) c->longest = n;
    static _Thread_local b2p_error e; /* appending a min/max of at most 200 bytes; not zeroed per value */
    bool new_min = c->nonnull == 1 || class_compare(c, v, n, c->min.data, c->min.len) < 0;
    if (new_min) {
        b2p_buf_clear(&c->min);
        b2p_buf_append(&c->min, v, n > 200 ? 200 : n, &e);
    }
    /* a new minimum is a new maximum only as the first value */
    if (c->nonnull == 1 || (!new_min && class_compare(c, v, n, c->max.data, c->max.len) > 0)) {
        b2p_buf_clear(&c->max);
        b2p_buf_append(&c->max, v, n > 200 ? 200 : n, &e);
    }
    const b2p_cat_column *col = c->col;
    if (c->klass == K_DATE) {
        if (a->backup_date[0] && n >= 10 && memcmp(v, "9999", 4) && strncmp(v, a->backup_date, n < 19 ? n : 19) > 0 &&
            memcmp(v, a->backup_date, 10) >= 0) {
            c->future++;
            keep_sample(c->s_future, &c->nfuture, v, n);
        }
        if (n >= 4 && memcmp(v, "1900", 4) < 0 && isdigit((unsigned char)v[0])) {
            c->pre1900++;
            keep_sample(c->s_pre1900, &c->npre1900, v, n);
        }
    } else if (c->klass == K_TEXT) {
        if (memchr(v, '@', n)) c->at_signs++;
        if (fits_email(v, n)) c->email_ok++;
        else keep_sample(c->s_email, &c->nbad_email, v, n);
        if (fits_phone(v, n)) c->phone_ok++;
        else keep_sample(c->s_phone, &c->nbad_phone, v, n);
        if (fits_url(v, n)) c->url_ok++;
        else keep_sample(c->s_url, &c->nbad_url, v, n);
        if (is_ansi_text(col) && looks_binary(v, n)) c->binary++;
        if (is_hex_digest(v, n)) c->hex_digest++;
    } else if ((c->klass == K_INTEGER && integer_near_limit(v, n, c->limit)) ||
               (c->klass == K_DECIMAL && near_limit(col, v, n))) {
        c->near_limit++;
        keep_sample(c->s_near, &c->nnear, v, n);
    }
}

/* ---- rows ---------------------------------------------------------------------------------- */

enum { MAX_FIELDS = 1024 };

/* One table's reading: the line being assembled from the export's pieces, and per foreign key
 * (as parent or as child) where its key's fields are. */
typedef struct fk_role {
    b2p_fk_keys *keys;
    size_t nfields;
    size_t field[16];
    uint64_t orphans, folded_only;
    size_t norphan, nfolded;
    char *s_orphan[B2P_AUDIT_SAMPLES], *s_folded[B2P_AUDIT_SAMPLES];
} fk_role;

typedef struct reader {
    b2p_audit *a;
    b2p_audit_table *at;
    b2p_buf line;
    size_t nfields;
    const char *fv[MAX_FIELDS];
    size_t fl[MAX_FIELDS];
    size_t nparent, nchild, nunique;
    fk_role *parent, *child, *unique;
    b2p_fk_keys *unique_keys;    /* per disabled unique index: the folded keys seen */
    const b2p_cat_index **unique_index;
    bool oom;
} reader;

static size_t field_of(const b2p_audit_table *at, int32_t column_id) {
    for (size_t i = 0; i < at->ncolumns; i++)
        if (at->columns[i].col->column_id == column_id) return i;
    return SIZE_MAX;
}

static bool fk_fields(const b2p_audit_table *at, const int32_t *ids, size_t n, fk_role *r) {
    if (n > 16) return false;
    for (size_t i = 0; i < n; i++)
        if ((r->field[i] = field_of(at, ids[i])) == SIZE_MAX) return false;
    r->nfields = n;
    return true;
}

/* The key's hashes, exact and folded; false when a part is NULL (not checked, as in SQL). */
static bool key_hashes(const reader *rd, const fk_role *r, uint64_t *exact, uint64_t *folded) {
    uint64_t h = 0xcbf29ce484222325ull, g = h;
    for (size_t i = 0; i < r->nfields; i++) {
        const char *v = rd->fv[r->field[i]];
        size_t n = rd->fl[r->field[i]];
        if (n == 2 && v[0] == '\\' && v[1] == 'N') return false;
        h = hash_bytes(v, n, h) * 31 + 0x1f;
        while (n && v[n - 1] == ' ') n--;
        for (size_t j = 0; j < n; j++) g = (g ^ (uint8_t)tolower((unsigned char)v[j])) * 0x100000001b3ull;
        g = g * 31 + 0x1f;
    }
    *exact = mix(h);
    *folded = mix(g);
    return true;
}

static void key_text(const reader *rd, const fk_role *r, b2p_buf *out) {
    static _Thread_local b2p_error e; /* a scratch error for appends (not zeroed per call: it is large) */
    for (size_t i = 0; i < r->nfields; i++) {
        if (i) b2p_buf_append(out, ", ", 2, &e);
        b2p_buf_append(out, rd->fv[r->field[i]], rd->fl[r->field[i]], &e);
    }
}

static void on_line(reader *rd, const char *p, size_t n) {
    rd->nfields = 0;
    const char *q = p, *end = p + n;
    while (rd->nfields < MAX_FIELDS) {
        const char *tab = memchr(q, '\t', (size_t)(end - q));
        const char *stop = tab ? tab : end;
        rd->fv[rd->nfields] = q;
        rd->fl[rd->nfields++] = (size_t)(stop - q);
        if (!tab) break;
        q = tab + 1;
    }
    b2p_audit_table *at = rd->at;
    at->rows++;
    if (rd->a->progress && !(at->rows & 0xffff)) rd->a->progress(rd->a->progress_ctx, at->table, at->rows);
    for (size_t i = 0; i < at->ncolumns && i < rd->nfields; i++) column_value(rd->a, &at->columns[i], rd->fv[i], rd->fl[i]);
    uint64_t h, g;
    for (size_t k = 0; k < rd->nparent; k++)
        if (key_hashes(rd, &rd->parent[k], &h, &g) &&
            (set_add(&rd->parent[k].keys->exact, h) < 0 || set_add(&rd->parent[k].keys->folded, g) < 0))
            rd->oom = true;
    for (size_t k = 0; k < rd->nunique; k++) {
        fk_role *r = &rd->unique[k];
        if (!key_hashes(rd, r, &h, &g)) continue;
        int added = set_add(&r->keys->folded, g);
        if (added < 0) rd->oom = true;
        if (added) continue;
        r->orphans++; /* here: a row whose key an earlier row holds, as SQL Server compares */
        b2p_buf kt = {0};
        key_text(rd, r, &kt);
        keep_sample(r->s_orphan, &r->norphan, kt.data ? kt.data : "", kt.len);
        b2p_buf_free(&kt);
    }
    for (size_t k = 0; k < rd->nchild; k++) {
        fk_role *r = &rd->child[k];
        if (!key_hashes(rd, r, &h, &g) || set_has(&r->keys->exact, h)) continue;
        b2p_buf kt = {0};
        key_text(rd, r, &kt);
        if (set_has(&r->keys->folded, g)) {
            r->folded_only++;
            keep_sample(r->s_folded, &r->nfolded, kt.data ? kt.data : "", kt.len);
        } else {
            r->orphans++;
            keep_sample(r->s_orphan, &r->norphan, kt.data ? kt.data : "", kt.len);
        }
        b2p_buf_free(&kt);
    }
}

static bool audit_sink(void *ctx, const char *data, size_t len) {
    reader *rd = ctx;
    static _Thread_local b2p_error e; /* a scratch error for appends (not zeroed per call: it is large) */
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (rd->line.len || !nl) {
            if (b2p_buf_append(&rd->line, data, take, &e)) return false;
            if (nl) {
                on_line(rd, rd->line.data, rd->line.len);
                b2p_buf_clear(&rd->line);
            }
        } else {
            on_line(rd, data, take);
        }
        if (!nl) break;
        data += take + 1;
        len -= take + 1;
    }
    return true;
}

static size_t table_index(const b2p_catalog *cat, const b2p_cat_table *t) {
    return (size_t)(t - cat->tables);
}

/* The foreign keys that reference t: their key sets are filled as t's rows are read. */
static b2p_status prepare_parent_keys(b2p_audit *a, const b2p_cat_table *t, b2p_error *err) {
    b2p_table_keys *ks = &a->keysets[table_index(a->cat, t)];
    for (size_t i = 0; i < a->cat->ntables; i++) {
        const b2p_cat_table *u = &a->cat->tables[i];
        for (size_t k = 0; k < u->nforeign_keys; k++) {
            const b2p_cat_foreign_key *fk = &u->foreign_keys[k];
            if (fk->ref_object_id != t->object_id || !fk->ncolumns || u == t) continue;
            b2p_fk_keys *nf = realloc(ks->fks, (ks->nfks + 1) * sizeof *nf);
            if (!nf) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
            ks->fks = nf;
            ks->fks[ks->nfks++] = (b2p_fk_keys){.fk = fk};
        }
    }
    return B2P_OK;
}

static void column_findings(b2p_audit *a, const b2p_cat_table *t, b2p_audit_column *c) {
    const char *name = c->col->name;
    char msg[256];
    if (c->future) {
        snprintf(msg, sizeof msg, "values after the backup's date (%s)", a->backup_date);
        add_finding(a, B2P_FIND_FUTURE_DATE, t, name, c->future, msg, c->s_future, &c->nfuture);
    }
    if (c->pre1900 && c->pre1900 * 20 <= c->nonnull) {
        add_finding(a, B2P_FIND_PRE1900_DATE, t, name, c->pre1900,
                        "values before 1900 where at least 95% of the column's values are later", c->s_pre1900, &c->npre1900);
    }
    if (c->klass != K_TEXT || !c->nonnull) return;
    bool email = named_email(c->col) || c->email_ok * 2 >= c->nonnull;
    if (email && c->email_ok < c->nonnull) {
        add_finding(a, B2P_FIND_BAD_EMAIL, t, name, c->nonnull - c->email_ok,
                        "values of an e-mail column that are not local@domain.tld", c->s_email, &c->nbad_email);
    }
    if (named_phone(c->col) && !email && c->phone_ok < c->nonnull) {
        add_finding(a, B2P_FIND_BAD_PHONE, t, name, c->nonnull - c->phone_ok,
                        "values of a phone column with characters other than digits, spaces and + - ( ) . / x, or not 5-20 digits", c->s_phone, &c->nbad_phone);
    }
    if (named_url(c->col) && c->url_ok * 2 >= c->nonnull && c->url_ok < c->nonnull) {
        add_finding(a, B2P_FIND_BAD_URL, t, name, c->nonnull - c->url_ok,
                        "values of a URL column that do not start with http://, https:// or www.", c->s_url, &c->nbad_url);
    }
    if (c->binary)
        add_finding(a, B2P_FIND_BINARY_TEXT, t, name, c->binary,
                    "text values holding control characters: bytes stored as text?", NULL, NULL);
    if (c->hex_digest == c->nonnull && c->nonnull >= 2)
        add_finding(a, B2P_FIND_HEX_DIGEST, t, name, c->hex_digest,
                    "every value is 32, 40 or 64 hex digits: a hash kept as text (bytea may fit better)", NULL, NULL);
}

static void numeric_findings(b2p_audit *a, const b2p_cat_table *t, b2p_audit_column *c) {
    if (!c->near_limit) return;
    add_finding(a, B2P_FIND_NUMERIC_NEAR_LIMIT, t, c->col->name, c->near_limit,
                                 "values within 10% of the PostgreSQL type's limit", c->s_near, &c->nnear);
}

static void fk_findings(b2p_audit *a, const b2p_cat_table *t, fk_role *r) {
    const char *name = r->keys->fk->name ? r->keys->fk->name : "?";
    const b2p_cat_table *p = b2p_catalog_table_by_id(a->cat, r->keys->fk->ref_object_id);
    char msg[600];
    if (r->orphans) {
        snprintf(msg, sizeof msg, "rows whose key has no parent row in %s.%s", p ? p->schema : "?", p ? p->name : "?");
        add_finding(a, B2P_FIND_ORPHAN_FK, t, name, r->orphans, msg, r->s_orphan, &r->norphan);
    }
    if (r->folded_only) {
        snprintf(msg, sizeof msg,
                 "rows whose key matches a parent in %s.%s only without trailing spaces or ignoring case: "
                 "a PostgreSQL foreign key refuses them",
                 p ? p->schema : "?", p ? p->name : "?");
        add_finding(a, B2P_FIND_PADDING_CASE_MATCH, t, name, r->folded_only, msg, r->s_folded, &r->nfolded);
    }
    free_samples(r->s_orphan, r->norphan);
    free_samples(r->s_folded, r->nfolded);
}

static uint64_t table_pages(const b2p_cat_table *t) {
    uint64_t n = 0;
    for (size_t i = 0; i < t->npartitions; i++)
        for (size_t j = 0; j < t->partitions[i].naus; j++) n += t->partitions[i].aus[j].used_pages;
    return n;
}

/* Sets up rd's foreign key roles for t: as parent (its keys are collected) and as child (its
 * keys are looked up in parents already read). */
static b2p_status prepare_roles(b2p_audit *a, reader *rd, const b2p_cat_table *t, b2p_error *err) {
    b2p_status st = prepare_parent_keys(a, t, err);
    if (st) return st;
    b2p_table_keys *ks = &a->keysets[table_index(a->cat, t)];
    rd->parent = calloc(ks->nfks + 1, sizeof *rd->parent);
    rd->child = calloc(t->nforeign_keys + 1, sizeof *rd->child);
    if (!rd->parent || !rd->child) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < ks->nfks; k++) {
        rd->parent[rd->nparent].keys = &ks->fks[k];
        if (fk_fields(rd->at, ks->fks[k].fk->ref_columns, ks->fks[k].fk->ncolumns, &rd->parent[rd->nparent]))
            rd->nparent++;
    }
    rd->unique = calloc(t->nindexes + 1, sizeof *rd->unique);
    rd->unique_keys = calloc(t->nindexes + 1, sizeof *rd->unique_keys);
    rd->unique_index = calloc(t->nindexes + 1, sizeof *rd->unique_index);
    if (!rd->unique || !rd->unique_keys || !rd->unique_index) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < t->nindexes; k++) {
        const b2p_cat_index *ix = &t->indexes[k];
        if (!ix->disabled || !(ix->unique || ix->primary_key || ix->unique_constraint) || !ix->nkeys || ix->has_filter)
            continue;
        rd->unique[rd->nunique].keys = &rd->unique_keys[rd->nunique];
        rd->unique_index[rd->nunique] = ix;
        if (fk_fields(rd->at, ix->key_columns, ix->nkeys, &rd->unique[rd->nunique])) rd->nunique++;
    }
    for (size_t k = 0; k < t->nforeign_keys; k++) {
        const b2p_cat_foreign_key *fk = &t->foreign_keys[k];
        const b2p_cat_table *p = b2p_catalog_table_by_id(a->cat, fk->ref_object_id);
        pthread_mutex_lock(&a->mu);
        bool parent_read = p && a->keysets[table_index(a->cat, p)].read;
        pthread_mutex_unlock(&a->mu);
        if (!p || p == t || !parent_read) continue;
        b2p_table_keys *pk = &a->keysets[table_index(a->cat, p)];
        for (size_t j = 0; j < pk->nfks; j++)
            if (pk->fks[j].fk == fk) {
                rd->child[rd->nchild].keys = &pk->fks[j];
                if (fk_fields(rd->at, fk->columns, fk->ncolumns, &rd->child[rd->nchild])) rd->nchild++;
            }
    }
    return B2P_OK;
}

b2p_status b2p_audit_table_rows(b2p_audit *a, size_t slot, b2p_pages *src, const b2p_cat_table *t, b2p_error *err) {
    if (slot >= a->ntables) return b2p_fail(err, B2P_ERR_INTERNAL, "audit: table slot %zu of %zu", slot, a->ntables);
    b2p_audit_table *at = &a->tables[slot];
    *at = (b2p_audit_table){.table = t, .pages = table_pages(t)};
    const b2p_cat_column *cols[MAX_FIELDS];
    size_t n = b2p_export_columns(t, cols, MAX_FIELDS);
    at->columns = calloc(n ? n : 1, sizeof *at->columns);
    if (!at->columns) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory auditing %s.%s", t->schema, t->name);
    at->ncolumns = n;
    for (size_t i = 0; i < n; i++) {
        at->columns[i].col = cols[i];
        classify(&at->columns[i]);
    }
    if ((at->skipped = b2p_export_unsupported(t))) return B2P_OK;
    reader rd = {.a = a, .at = at};
    b2p_status st = prepare_roles(a, &rd, t, err);
    b2p_export_options opt = {.format = B2P_FORMAT_COPY, .nul_policy = B2P_NUL_REPLACE};
    if (!st) st = b2p_export_table(src, a->cat, t, &opt, audit_sink, &rd, &at->export, err);
    if (!st && rd.line.len) on_line(&rd, rd.line.data, rd.line.len);
    if (!st && rd.oom) st = b2p_fail(err, B2P_ERR_NOMEM, "out of memory keeping the keys of %s.%s", t->schema, t->name);
    b2p_buf_free(&rd.line);
    at->bytes = at->export.bytes;
    pthread_mutex_lock(&a->mu);
    a->keysets[table_index(a->cat, t)].read = !st; /* keys of a table read in part would make false orphans */
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < at->ncolumns; i++) {
        column_findings(a, t, &at->columns[i]);
        numeric_findings(a, t, &at->columns[i]);
    }
    for (size_t k = 0; k < rd.nchild; k++) fk_findings(a, t, &rd.child[k]);
    if (at->export.nul_values) add_finding(a, B2P_FIND_NUL, t, "", at->export.nul_values,
                                           "text values holding NUL characters, which PostgreSQL cannot store (see --nul)", NULL, NULL);
    if (at->export.replaced_values)
        add_finding(a, B2P_FIND_UNDEFINED_BYTES, t, "", at->export.replaced_values,
                    "text values with bytes undefined in their code page", NULL, NULL);
    for (size_t k = 0; k < rd.nunique; k++) {
        fk_role *r = &rd.unique[k];
        if (r->orphans)
            add_finding(a, B2P_FIND_DISABLED_UNIQUE_DUP, t, rd.unique_index[k]->name, r->orphans,
                        "rows whose key an earlier row holds (trailing spaces and case ignored) in a disabled "
                        "unique index: PostgreSQL's will refuse them",
                        r->s_orphan, &r->norphan);
        free_samples(r->s_orphan, r->norphan);
        free(rd.unique_keys[k].folded.v);
    }
    free(rd.unique);
    free(rd.unique_keys);
    free(rd.unique_index);
    free(rd.parent);
    free(rd.child);
    return st;
}

static double identity_limit(const b2p_cat_column *c) {
    double lim = integer_limit(c);
    if (!strcmp(c->type_name, "tinyint")) lim = 255.0;
    if (!lim && (!strcmp(c->type_name, "decimal") || !strcmp(c->type_name, "numeric")))
        lim = pow(10.0, c->precision) - 1;
    return lim;
}

void b2p_audit_catalog_findings(b2p_audit *a) {
    for (size_t i = 0; i < a->ntables; i++) {
        const b2p_cat_table *t = a->tables[i].table;
        if (!t) continue;
        for (size_t j = 0; j < t->ncolumns; j++) {
            const b2p_cat_column *c = &t->columns[j];
            double lim = identity_limit(c);
            if (c->is_identity && c->identity_used && lim > 0 && fabs((double)c->identity_last) >= 0.9 * lim) {
                char msg[160];
                snprintf(msg, sizeof msg, "identity's last value %lld has used 90%% or more of %s's range",
                         (long long)c->identity_last, c->type_name);
                add_finding(a, B2P_FIND_IDENTITY_NEAR_END, t, c->name, 1, msg, NULL, NULL);
            }
        }
        for (size_t k = 0; k < t->nchecks; k++)
            if (t->checks[k].disabled)
                add_finding(a, B2P_FIND_DISABLED_CHECK, t, t->checks[k].name, 1,
                            "CHECK constraint disabled: rows may violate it (its expression is not evaluated "
                            "by the audit; the catalog has no trusted flag for checks here)",
                            NULL, NULL);
        for (size_t k = 0; k < t->nforeign_keys; k++) {
            const b2p_cat_foreign_key *fk = &t->foreign_keys[k];
            if (fk->disabled || fk->not_trusted)
                add_finding(a, B2P_FIND_UNTRUSTED_FK, t, fk->name, 1,
                            fk->disabled ? "foreign key disabled: its rows were not checked by SQL Server"
                                         : "foreign key not trusted (created or re-enabled WITH NOCHECK)", NULL, NULL);
        }
    }
}

/* Findings in a stable order whichever worker found them first: by table (as read), kind, subject. */
static const b2p_audit *sorting;

static size_t slot_of(const b2p_audit *a, const b2p_cat_table *t) {
    for (size_t i = 0; i < a->ntables; i++)
        if (a->tables[i].table == t) return i;
    return a->ntables;
}

static int by_table_kind(const void *x, const void *y) {
    const b2p_finding *f = x, *g = y;
    size_t a = slot_of(sorting, f->table), b = slot_of(sorting, g->table);
    if (a != b) return a < b ? -1 : 1;
    if (f->kind != g->kind) return f->kind < g->kind ? -1 : 1;
    return strcmp(f->subject ? f->subject : "", g->subject ? g->subject : "");
}

void b2p_audit_finish(b2p_audit *a) {
    b2p_audit_catalog_findings(a);
    sorting = a;
    if (a->nfindings) qsort(a->findings, a->nfindings, sizeof *a->findings, by_table_kind);
    sorting = NULL;
}

bool b2p_audit_findings_lost(const b2p_audit *a) { return a->findings_lost; }
