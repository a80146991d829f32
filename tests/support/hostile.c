/* Hostile databases for the property test of issue 12 (see hostile.h). */
#include "tests/support/hostile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NAME_UNITS = 128, PG_NAME_BYTES = 63, NAME_BYTES = 4 * NAME_UNITS + 1, ROWS = 3 };

/* The alphabet: each atom is one piece of a name. Non-ASCII is spelt in \x escapes so that the
 * source says exactly which bytes it holds. */
static const char *const ATOMS[] = {
    "'", "''", "\"", "\"\"", "\\", "\\\\", ";", "--", "/*", "*/", "\n", "\r", "\r\n", "$(", ")", "`", "%",
    "%s", "%n", "%%", "%x", "\t", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1b[31m", "\x1b]0;owned\x07",
    "\x1b[2J", "\x1f", "\x7f",
    "\xc2\x85",                          /* U+0085 NEL, a C1 control */
    "\xc2\x9b",                          /* U+009B CSI, a C1 control */
    "\xe2\x80\xae",                      /* U+202E RIGHT-TO-LEFT OVERRIDE */
    "\xe2\x81\xa6",                      /* U+2066 LEFT-TO-RIGHT ISOLATE */
    "\xe2\x80\xa8",                      /* U+2028 LINE SEPARATOR */
    "\xe2\x80\x8b",                      /* U+200B ZERO WIDTH SPACE */
    "\xef\xbb\xbf",                      /* U+FEFF BOM */
    "\xc3\xa9", "\xc3\x9f", "\xce\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xe4\xb8\xad\xe6\x96\x87",
    "\xf0\x9f\x98\x80",                  /* U+1F600, a surrogate pair in UTF-16 */
    "\xf0\x9d\x84\x9e",                  /* U+1D11E */
    "e\xcc\x81",                         /* e + COMBINING ACUTE ACCENT */
    "/", "..", ".", "./", "../", "~", " ", "-", "$b2p$", "$$", ":x", ":'x'", "\\.", "E'", "U&\"", "\\!", "|",
    "&", ">", "<", "*", "?", "[", "]", "{", "}", "#", "!", "=", "+", ",", "(", "@", "^", "\\x41", "\\u0041",
    "%2F", "%00", "{0}", "${HOME}", "\\n",
};
static const char *const WORDS[] = {"a", "Z", "name", "Col", "x1", "Order", "DROP", "select", "id", "TABLE", "tmp", "copy", "_"};

/* What a payload does if a name ever reaches a shell, psql or SQL as code; %s is the canary. */
static const struct {
    const char *what, *text;
} PAYLOADS[] = {
    {"shell $(...)", "$(touch %s)"},
    {"shell backticks", "`touch %s`"},
    {"shell: out of '...'", "'$(touch %s)'"},
    {"shell: out of \"...\"", "\"$(touch %s)\""},
    {"shell ;", ";touch %s;"},
    {"shell pipe", "|touch %s|"},
    {"shell && out of '...'", "'&&touch %s&&'"},
    {"psql \\! after a newline", "\n\\! touch %s\n"},
    {"psql \\! after a CR", "\r\\! touch %s\r"},
    {"psql \\! after CRLF", "\r\n\\! touch %s\r\n"},
    {"psql \\copy to program", "\n\\copy (select 1) to program 'touch %s'\n"},
    {"psql \\o |", "\n\\o |touch %s\n"},
    {"SQL out of '...'", "'; COPY (SELECT 1) TO PROGRAM 'touch %s'; --"},
    {"SQL out of \"...\"", "\"; COPY (SELECT 1) TO PROGRAM 'touch %s'; --"},
    {"SQL out of E'...'", "\\'; COPY (SELECT 1) TO PROGRAM 'touch %s'; --"},
    {"SQL out of /* */", "*/; COPY (SELECT 1) TO PROGRAM 'touch %s'; /*"},
    {"SQL out of $b2p$", "$b2p$; COPY (SELECT 1) TO PROGRAM 'touch %s'; --"},
    {"SQL out of $$", "$$; COPY (SELECT 1) TO PROGRAM 'touch %s'; --"},
    {"SQL after a newline (out of a comment)", "\nCOPY (SELECT 1) TO PROGRAM 'touch %s';\n"},
    {"SQL after a CR (out of a comment)", "\rCOPY (SELECT 1) TO PROGRAM 'touch %s';\r"},
};
enum { NPAYLOADS = sizeof PAYLOADS / sizeof PAYLOADS[0] };

/* The generator: the database being made, the random state, every name so far. */
typedef struct gen {
    hostile_db *h;
    uint64_t rng;
    char **names;                        /* owned: every string handed out */
    size_t nnames, cap;
    hostile_canary pending[8];           /* canaries of the name being built */
    size_t npending;
    size_t next_payload;                 /* payload kinds in turn: every kind, every run */
    size_t case_pair;                    /* the second of the tables that differ only in case */
    int next_canary;
    bool oom;
    char *desc;                          /* the description being written */
    size_t desc_len, desc_cap;
} gen;

static uint64_t rnd(gen *g) { /* splitmix64 */
    uint64_t z = (g->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static size_t pick(gen *g, size_t n) { return (size_t)(rnd(g) % n); }
static bool chance(gen *g, int percent) { return (int)pick(g, 100) < percent; }

/* UTF-16 code units of UTF-8 text: what SQL Server's 128-character limit counts. */
static size_t units(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) n += *p >= 0xF0 ? 2 : 1;
    return n;
}

/* Bytes of s that PostgreSQL keeps: at most 63, cut on a character boundary. */
static size_t pg_kept(const char *s) {
    size_t n = strlen(s);
    if (n <= PG_NAME_BYTES) return n;
    n = PG_NAME_BYTES;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return n;
}

static bool same_in_pg(const char *a, const char *b) {
    size_t n = pg_kept(a);
    return n == pg_kept(b) && !memcmp(a, b, n);
}

static const char *keep(gen *g, const char *s) {
    if (g->nnames == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 256;
        char **n = realloc(g->names, cap * sizeof *n);
        if (!n) {
            g->oom = true;
            return "";
        }
        g->names = n;
        g->cap = cap;
    }
    char *d = strdup(s);
    if (!d) {
        g->oom = true;
        return "";
    }
    return g->names[g->nnames++] = d;
}

static bool taken(const gen *g, const char *s) {
    for (size_t i = 0; i < g->nnames; i++)
        if (same_in_pg(g->names[i], s)) return true;
    return false;
}

/* A name being built, at most max UTF-16 units. */
typedef struct name_buf {
    char s[NAME_BYTES];
    size_t max;
} name_buf;

static void name_start(name_buf *b, size_t max) {
    b->s[0] = 0;
    b->max = max;
}

/* Appends piece if the name stays within its limit. */
static bool put(name_buf *b, const char *piece) {
    size_t n = strlen(b->s), k = strlen(piece);
    if (n + k >= sizeof b->s || units(b->s) + units(piece) > b->max) return false;
    memcpy(b->s + n, piece, k + 1);
    return true;
}

/* Adds a payload (the next kind in turn, if it fits) aimed at a new canary, relative or under
 * /tmp. */
static bool put_payload(gen *g, name_buf *b) {
    if (g->npending == sizeof g->pending / sizeof g->pending[0]) return false;
    size_t kind = g->next_payload % NPAYLOADS;
    hostile_canary *c = &g->pending[g->npending];
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%sCANARY-%s-%d", chance(g, 50) ? "/tmp/" : "", g->h->tag, g->next_canary);
    c->what = PAYLOADS[kind].what;
    char text[256];
    snprintf(text, sizeof text, PAYLOADS[kind].text, c->path);
    if (!put(b, text)) return false;
    g->npending++;
    g->next_payload++;
    g->next_canary++;
    return true;
}

static bool put_random_piece(gen *g, name_buf *b) {
    if (chance(g, 72)) return put(b, ATOMS[pick(g, sizeof ATOMS / sizeof ATOMS[0])]);
    return put(b, WORDS[pick(g, sizeof WORDS / sizeof WORDS[0])]);
}

typedef enum payload_use { NO_PAYLOAD, MAYBE_PAYLOAD, PAYLOAD } payload_use;

/* Fills b with 1 to 6 pieces (at most max_units), and a payload when asked. */
static void random_text(gen *g, name_buf *b, size_t max_units, payload_use pay) {
    name_start(b, max_units);
    g->npending = 0;
    size_t pieces = 1 + pick(g, 6), at = pay == PAYLOAD ? pick(g, pieces) : pieces;
    if (pay == MAYBE_PAYLOAD && chance(g, 15)) at = pick(g, pieces);
    for (size_t i = 0; i < pieces; i++) {
        if (i == at) put_payload(g, b);
        put_random_piece(g, b);
    }
}

/* Takes the canaries of the name just accepted. */
static void commit_canaries(gen *g, const char *role, const char *name) {
    hostile_db *h = g->h;
    for (size_t i = 0; i < g->npending; i++) {
        if (!strstr(name, g->pending[i].path)) continue; /* cut off */
        hostile_canary *c = realloc(h->canaries, (h->ncanaries + 1) * sizeof *c);
        if (!c) {
            g->oom = true;
            return;
        }
        h->canaries = c;
        c[h->ncanaries] = g->pending[i];
        c[h->ncanaries].role = role;
        c[h->ncanaries].name = name;
        h->ncanaries++;
    }
    g->npending = 0;
}

/* A canary that is a place, not a payload: where a name climbs to. */
static void place_canary(gen *g, const char *path, const char *what, const char *role, const char *name) {
    g->npending = 1;
    hostile_canary *c = &g->pending[0];
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->what = what;
    commit_canaries(g, role, name);
}

/* A new name of at most max_units (and max_bytes, if not 0), distinct from every other one as
 * PostgreSQL keeps names. */
static const char *fresh_within(gen *g, const char *role, size_t max_units, size_t max_bytes, payload_use pay) {
    name_buf b;
    for (int tries = 0;; tries++) {
        random_text(g, &b, max_units, pay);
        /* "pg_" schemas are PostgreSQL's own; an empty name is no name */
        if (b.s[0] && strncmp(b.s, "pg_", 3) && !taken(g, b.s) && (!max_bytes || strlen(b.s) <= max_bytes)) break;
        if (tries == 1000) { /* cannot happen with this alphabet; say so rather than loop */
            g->oom = true;
            break;
        }
    }
    const char *name = keep(g, b.s);
    commit_canaries(g, role, name);
    return name;
}

static const char *fresh(gen *g, const char *role, size_t max_units, payload_use pay) {
    return fresh_within(g, role, max_units, 0, pay);
}

/* A part of a name made of parts (a/b, x.y): short enough in bytes that the parts' joints fall
 * in the 63 bytes PostgreSQL keeps, so that the joined names stay distinct there. */
static const char *fresh_part(gen *g, const char *role, size_t max_bytes, payload_use pay) {
    return fresh_within(g, role, max_bytes, max_bytes, pay);
}

/* A 128-unit name: a fresh start, then pieces and letters up to exactly NAME_UNITS. */
static const char *long_name(gen *g, const char *role) {
    name_buf b;
    do {
        random_text(g, &b, 80, MAYBE_PAYLOAD);
        b.max = NAME_UNITS;
        for (int i = 0; i < 40 && units(b.s) < NAME_UNITS - 8; i++) put_random_piece(g, &b);
        while (units(b.s) < NAME_UNITS && put(&b, chance(g, 50) ? "L" : "o")) {}
    } while (!strncmp(b.s, "pg_", 3) || taken(g, b.s) || units(b.s) != NAME_UNITS);
    const char *name = keep(g, b.s);
    commit_canaries(g, role, name);
    return name;
}

/* A name made of others (a/b, x.y, ...): taken as it is, the caller knows its scope. */
static const char *joined(gen *g, const char *a, const char *mid, const char *b) {
    char s[3 * NAME_BYTES];
    snprintf(s, sizeof s, "%s%s%s", a, mid, b);
    return keep(g, s);
}

/* ---- the description ------------------------------------------------------------------------ */

static void out(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(gen *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || g->oom) return;
    if (g->desc_len + (size_t)n + 1 > g->desc_cap) {
        size_t cap = (g->desc_len + (size_t)n + 1) * 2;
        char *d = realloc(g->desc, cap);
        if (!d) {
            g->oom = true;
            return;
        }
        g->desc = d;
        g->desc_cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(g->desc + g->desc_len, g->desc_cap - g->desc_len, fmt, ap);
    va_end(ap);
    g->desc_len += (size_t)n;
}

/* s as a quoted word of the description language: \" \\ \n \r \t \xNN escapes, UTF-8 as is. */
static void out_quoted(gen *g, const char *s) {
    out(g, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') out(g, "\\%c", *p);
        else if (*p == '\n') out(g, "\\n");
        else if (*p == '\r') out(g, "\\r");
        else if (*p == '\t') out(g, "\\t");
        else if (*p < 0x20 || *p == 0x7F) out(g, "\\x%02x", *p);
        else out(g, "%c", *p);
    }
    out(g, "\"");
}

/* Column types besides the key: text most often, since text values are hostile too. */
static const char *const TYPES[] = {"nvarchar(100)", "nvarchar(100)", "varchar(80)", "varchar(80)", "int", "bigint",
                                    "decimal(12,3)", "bit", "date", "datetime2(3)", "uniqueidentifier", "varbinary(16)",
                                    "float"};
enum { NTYPES = sizeof TYPES / sizeof TYPES[0] };

/* One literal value of a column of type ty (an index into TYPES); key: the row's key. */
static void out_value(gen *g, size_t ty) {
    if (chance(g, 12)) {
        out(g, "NULL");
        return;
    }
    const char *t = TYPES[ty];
    if (!strncmp(t, "nvarchar", 8) || !strncmp(t, "varchar", 7)) {
        bool ascii = t[0] == 'v';
        name_buf b;
        do random_text(g, &b, ascii ? 80 : 100, chance(g, 20) ? PAYLOAD : NO_PAYLOAD);
        while (ascii && strpbrk(b.s, "\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f"
                                     "\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f"
                                     "\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf"
                                     "\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf"
                                     "\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf"
                                     "\xd0\xd1\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xdb\xdc\xdd\xde\xdf"
                                     "\xe0\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xeb\xec\xed\xee\xef"
                                     "\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff")); /* varchar: ASCII */
        commit_canaries(g, "value", keep(g, b.s));
        out_quoted(g, b.s);
    } else if (!strcmp(t, "int")) {
        out(g, "%d", (int)(int32_t)rnd(g));
    } else if (!strcmp(t, "bigint")) {
        out(g, "%lld", (long long)(int64_t)rnd(g));
    } else if (!strcmp(t, "decimal(12,3)")) {
        out(g, "%s%lld.%03d", chance(g, 30) ? "-" : "", (long long)pick(g, 1000000000), (int)pick(g, 1000));
    } else if (!strcmp(t, "bit")) {
        out(g, "%d", (int)pick(g, 2));
    } else if (!strcmp(t, "date")) {
        out(g, "%04d-%02d-%02d", 1900 + (int)pick(g, 200), 1 + (int)pick(g, 12), 1 + (int)pick(g, 28));
    } else if (!strcmp(t, "datetime2(3)")) {
        out(g, "%04d-%02d-%02d %02d:%02d:%02d.%03d", 1900 + (int)pick(g, 200), 1 + (int)pick(g, 12), 1 + (int)pick(g, 28),
            (int)pick(g, 24), (int)pick(g, 60), (int)pick(g, 60), (int)pick(g, 1000));
    } else if (!strcmp(t, "uniqueidentifier")) {
        for (int i = 0; i < 16; i++) out(g, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", (unsigned)pick(g, 256));
    } else if (!strcmp(t, "varbinary(16)")) {
        out(g, "0x");
        for (size_t i = 0, n = 1 + pick(g, 16); i < n; i++) out(g, "%02x", (unsigned)pick(g, 256));
    } else { /* float: eighths, exact in binary */
        out(g, "%s%lld.%03d", chance(g, 30) ? "-" : "", (long long)pick(g, 100000), (int)(125 * pick(g, 8)));
    }
}

static void out_table(gen *g, const hostile_table *t, const size_t *types) {
    const hostile_db *h = g->h;
    out(g, "table ");
    out_quoted(g, t->schema);
    out(g, ".");
    out_quoted(g, t->name);
    out(g, "\n");
    for (size_t c = 0; c < t->ncolumns; c++) {
        out(g, "  column ");
        out_quoted(g, t->columns[c]);
        if (c == 0) out(g, " int not null\n");
        else if (t->fk_name && c == t->fk_column) out(g, " int null\n");
        else out(g, " %s null\n", TYPES[types[c]]);
    }
    out(g, "  primary key (");
    out_quoted(g, t->columns[0]);
    out(g, ") %s name ", t->pk_clustered ? "clustered" : "nonclustered");
    out_quoted(g, t->pk_name);
    out(g, "\n");
    if (t->fk_name) {
        const hostile_table *p = &h->tables[t->fk_parent];
        out(g, "  foreign key ");
        out_quoted(g, t->fk_name);
        out(g, " (");
        out_quoted(g, t->columns[t->fk_column]);
        out(g, ") references ");
        out_quoted(g, p->schema);
        out(g, ".");
        out_quoted(g, p->name);
        out(g, " (");
        out_quoted(g, p->columns[0]);
        out(g, ")\n");
    }
    for (int r = 1; r <= ROWS; r++) {
        out(g, "  row %d", r);
        for (size_t c = 1; c < t->ncolumns; c++) {
            out(g, " | ");
            if (t->fk_name && c == t->fk_column) {
                if (chance(g, 25)) out(g, "NULL");
                else out(g, "%d", 1 + (int)pick(g, ROWS));
            } else {
                out_value(g, types[c]);
            }
        }
        out(g, "\n");
    }
    out(g, "end\n");
}

/* ---- the database ---------------------------------------------------------------------------- */

/* Columns of table t: the key, a payload, a pair that differs only in case, sometimes a
 * 128-unit name, the rest random; types for each. */
static void make_columns(gen *g, hostile_table *t, size_t *types) {
    t->ncolumns = 12 + pick(g, 7);
    for (size_t c = 0; c < t->ncolumns; c++) {
        types[c] = pick(g, NTYPES);
        if (c == 2) {
            const char *rest = fresh(g, "column", 60, NO_PAYLOAD);
            t->columns[2] = joined(g, "Cd", "", rest);
            t->columns[3] = joined(g, "cD", "", rest);
            c++;
            types[c] = pick(g, NTYPES);
        } else {
            t->columns[c] = c == 1 ? fresh(g, "column", NAME_UNITS, PAYLOAD)
                          : chance(g, 12) ? long_name(g, "column")
                                          : fresh(g, "column", 40, MAYBE_PAYLOAD);
        }
    }
}

static hostile_table *add_table(gen *g, const char *schema, const char *name) {
    hostile_db *h = g->h;
    hostile_table *t = &h->tables[h->ntables++];
    memset(t, 0, sizeof *t);
    t->schema = schema;
    t->name = name;
    return t;
}

/* The tables the issue names, in every run; then a few random ones. */
static void make_tables(gen *g, const char *s_dot, const char *s_pair, const char *s_pair_t, const char *t_part,
                        const char *s_rand) {
    hostile_db *h = g->h;
    char evil[96];
    /* collide once '/' becomes '_' or '%' is not encoded */
    const char *a = fresh_part(g, "table", 40, MAYBE_PAYLOAD), *b = fresh(g, "table", 40, PAYLOAD);
    add_table(g, "dbo", joined(g, a, "/", b));
    add_table(g, "dbo", joined(g, a, "_", b));
    add_table(g, "dbo", joined(g, a, "%2F", b));
    /* climb out of DIR/<schema>.<table>.<ext>: to /tmp, and to the test's own directory */
    snprintf(evil, sizeof evil, "/../../../../../../../../../../../../tmp/EVIL-%s-1", h->tag);
    hostile_table *t = add_table(g, s_dot, keep(g, evil));
    place_canary(g, strrchr(evil, '/') + 1, "a file written where a name climbs (/tmp)", "table", t->name);
    snprintf(evil, sizeof evil, "/../../EVIL-%s-2", h->tag);
    t = add_table(g, s_dot, keep(g, evil));
    place_canary(g, strrchr(evil, '/') + 1, "a file written where a name climbs (../..)", "table", t->name);
    add_table(g, s_pair, "..");
    add_table(g, s_pair, ".");
    /* schema x + table y.z against schema x.y + table z */
    const char *u = fresh(g, "table", 40, PAYLOAD);
    add_table(g, s_pair, joined(g, t_part, ".", u));
    add_table(g, s_pair_t, u);
    /* differ only in case */
    const char *rest = fresh(g, "table", 60, PAYLOAD);
    add_table(g, s_rand, joined(g, "Ab", "", rest));
    g->case_pair = h->ntables;
    add_table(g, s_rand, joined(g, "aB", "", rest));
    add_table(g, s_rand, long_name(g, "table"));
    /* a leading '-' (an option, to a program) */
    add_table(g, "dbo", joined(g, "-", "", fresh(g, "table", 40, PAYLOAD)));
    const char *schemas[] = {"dbo", s_dot, s_pair, s_pair_t, s_rand};
    for (size_t n = pick(g, 3); n > 0; n--)
        add_table(g, schemas[pick(g, sizeof schemas / sizeof schemas[0])], fresh(g, "table", 60, PAYLOAD));
}

static void make_keys(gen *g) {
    hostile_db *h = g->h;
    for (size_t i = 0; i < h->ntables; i++) {
        hostile_table *t = &h->tables[i];
        t->pk_clustered = chance(g, 70);
        t->pk_name = chance(g, 10) ? long_name(g, "primary key") : fresh(g, "primary key", 60, MAYBE_PAYLOAD);
        if (i > 0 && chance(g, 65)) {
            t->fk_name = chance(g, 10) ? long_name(g, "foreign key") : fresh(g, "foreign key", 60, MAYBE_PAYLOAD);
            t->fk_column = t->ncolumns - 1;
            t->fk_parent = pick(g, i);
        }
    }
    /* a primary key named like another table of its schema (only a crafted backup holds one:
     * SQL Server keeps both in sys.objects), as PostgreSQL keeps both in one namespace too */
    h->tables[g->case_pair].pk_name = h->tables[g->case_pair - 1].name;
}

static void make_database(gen *g) {
    hostile_db *h = g->h;
    /* the database name: psql meta-commands after a newline and a CR, and a shell payload */
    name_buf b;
    name_start(&b, NAME_UNITS);
    g->npending = 0;
    size_t next = g->next_payload;
    put(&b, "db");
    g->next_payload = 7; /* psql \! after a newline */
    put_payload(g, &b);
    g->next_payload = 8; /* psql \! after a CR */
    put_payload(g, &b);
    g->next_payload = 2; /* shell: out of '...' */
    put_payload(g, &b);
    put(&b, "\xe2\x80\xae" "\xc3\xa9");
    g->next_payload = next;
    h->database = keep(g, b.s);
    commit_canaries(g, "database", h->database);

    const char *s_dot = keep(g, ".");
    const char *s_pair = fresh_part(g, "schema", 45, PAYLOAD);
    const char *t_part = fresh_part(g, "schema", 45, MAYBE_PAYLOAD);
    const char *s_pair_t = joined(g, s_pair, ".", t_part);
    const char *s_rand = chance(g, 30) ? long_name(g, "schema") : fresh(g, "schema", 60, PAYLOAD);
    h->schemas[h->nschemas++] = s_dot;
    h->schemas[h->nschemas++] = s_pair;
    h->schemas[h->nschemas++] = s_pair_t;
    h->schemas[h->nschemas++] = s_rand;
    make_tables(g, s_dot, s_pair, s_pair_t, t_part, s_rand);
}

/* Distinct names: every name the description holds, once. */
static size_t count_names(const hostile_db *h) {
    const char *all[1 + HOSTILE_MAX_SCHEMAS + HOSTILE_MAX_TABLES * (HOSTILE_MAX_COLUMNS + 3)];
    size_t n = 0;
    all[n++] = h->database;
    for (size_t i = 0; i < h->nschemas; i++) all[n++] = h->schemas[i];
    for (size_t i = 0; i < h->ntables; i++) {
        const hostile_table *t = &h->tables[i];
        all[n++] = t->name;
        all[n++] = t->pk_name;
        if (t->fk_name) all[n++] = t->fk_name;
        for (size_t c = 0; c < t->ncolumns; c++) all[n++] = t->columns[c];
    }
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < i && strcmp(all[k], all[i])) k++;
        distinct += k == i;
    }
    return distinct;
}

/* The strings the database owns, after its public part. */
typedef struct hostile_owned {
    hostile_db db;
    char **strings;
    size_t nstrings;
} hostile_owned;

hostile_db *hostile_generate(uint64_t seed, const char *tag) {
    hostile_owned *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    hostile_db *h = &o->db;
    h->seed = seed;
    snprintf(h->tag, sizeof h->tag, "%s", tag);
    gen g = {.h = h, .rng = seed};
    make_database(&g);
    size_t types[HOSTILE_MAX_TABLES][HOSTILE_MAX_COLUMNS];
    for (size_t i = 0; i < h->ntables; i++) make_columns(&g, &h->tables[i], types[i]);
    make_keys(&g);
    h->nnames = count_names(h);

    out(&g, "# hostile names, seed %llu\n", (unsigned long long)seed);
    out(&g, "database ");
    out_quoted(&g, h->database);
    out(&g, "\n");
    for (size_t i = 0; i < h->nschemas; i++) {
        out(&g, "schema ");
        out_quoted(&g, h->schemas[i]);
        out(&g, "\n");
    }
    for (size_t i = 0; i < h->ntables; i++) out_table(&g, &h->tables[i], types[i]);
    h->description = g.desc;
    o->strings = g.names;
    o->nstrings = g.nnames;
    if (g.oom) {
        hostile_free(h);
        return NULL;
    }
    return h;
}

void hostile_free(hostile_db *h) {
    if (!h) return;
    hostile_owned *o = (hostile_owned *)h;
    for (size_t i = 0; i < o->nstrings; i++) free(o->strings[i]);
    free(o->strings);
    free(h->canaries);
    free(h->description);
    free(o);
}

const hostile_canary *hostile_canary_of(const hostile_db *h, const char *base) {
    for (size_t i = 0; i < h->ncanaries; i++) {
        const char *p = strrchr(h->canaries[i].path, '/');
        p = p ? p + 1 : h->canaries[i].path;
        size_t n = strlen(p);
        /* CANARY-t-1 must not claim CANARY-t-12 */
        if (!strncmp(base, p, n) && (base[n] < '0' || base[n] > '9')) return &h->canaries[i];
    }
    return NULL;
}

const char *hostile_shown(const char *s) {
    static char ring[16][1200];
    static unsigned next;
    char *o = ring[next++ % 16];
    size_t n = 0, room = sizeof ring[0] - 16; /* past it: "...\"" */
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    o[n++] = '"';
    while (*p && n < room) {
        unsigned c = *p;
        int more = c >= 0xF0 && c < 0xF5 ? 3 : c >= 0xE0 && c < 0xF0 ? 2 : c >= 0xC2 && c < 0xE0 ? 1 : 0;
        uint32_t cp = c & (0x3Fu >> more);
        int k = 1;
        while (more && k <= more && (p[k] & 0xC0) == 0x80) cp = cp << 6 | (p[k++] & 0x3F);
        if (more && k == more + 1) { /* valid UTF-8 beyond ASCII */
            n += (size_t)snprintf(o + n, sizeof ring[0] - n, "\\u{%04X}", (unsigned)cp);
            p += k;
            continue;
        }
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') o[n++] = (char)c;
        else if (c == '"' || c == '\\') n += (size_t)snprintf(o + n, sizeof ring[0] - n, "\\%c", c);
        else if (c == '\n') n += (size_t)snprintf(o + n, sizeof ring[0] - n, "\\n");
        else if (c == '\r') n += (size_t)snprintf(o + n, sizeof ring[0] - n, "\\r");
        else if (c == '\t') n += (size_t)snprintf(o + n, sizeof ring[0] - n, "\\t");
        else n += (size_t)snprintf(o + n, sizeof ring[0] - n, "\\x%02X", c);
        p++;
    }
    if (*p) n += (size_t)snprintf(o + n, sizeof ring[0] - n, "...");
    o[n++] = '"';
    o[n] = 0;
    return o;
}
