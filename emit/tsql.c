/* emit/tsql.c: T-SQL default / check / computed expressions -> PostgreSQL (see emit/tsql.h).
 *
 * Three stages, all working in one arena that is freed at the end of the call:
 *   1. lex():    the text -> tokens (numbers, 'strings' and N'strings', 0x binary, names,
 *                [bracketed] and "quoted" names, operators). Errors: B2P_ERR_CORRUPT.
 *   2. parse_*:  recursive descent over T-SQL's precedence (OR < AND < NOT < comparison, IS,
 *                LIKE, IN, BETWEEN < + - & | ^ < * / % < unary - + ~), CASE, CAST, CONVERT,
 *                function calls. Parentheses are dropped: the tree carries the grouping.
 *   3. tr():     tree -> PostgreSQL text. Every result carries its type class (what
 *                PostgreSQL will see), its precedence (for re-parenthesizing: an operand is
 *                wrapped only when PostgreSQL would group it otherwise), whether it is a
 *                literal (so that '19000101' can become a date, 0 a boolean) and whether it
 *                is immutable (generated columns need that).
 * Anything whose meaning would change goes out as B2P_ERR_UNSUPPORTED with its reason.
 *
 * The translations (T-SQL -> PostgreSQL 15), and why:
 *   getdate() sysdatetime() CURRENT_TIMESTAMP -> LOCALTIMESTAMP (timestamp, like datetime)
 *     ... as a date -> CURRENT_DATE, as a time -> LOCALTIME, as datetimeoffset ->
 *     (LOCALTIMESTAMP AT TIME ZONE 'UTC') (SQL Server gives a converted datetime +00:00)
 *   getutcdate() sysutcdatetime()     -> (now() AT TIME ZONE 'utc')
 *   sysdatetimeoffset()               -> CURRENT_TIMESTAMP
 *   newid() newsequentialid()         -> gen_random_uuid() (as text: upper(..), SQL Server's form)
 *   user_name() / suser_sname() suser_name() system_user session_user user
 *                                     -> CURRENT_USER / SESSION_USER
 *   db_name() app_name()              -> current_database(), current_setting('application_name')
 *   isnull(a,b) coalesce nullif iif   -> COALESCE(a,b) COALESCE NULLIF CASE
 *   len(x)                            -> length(rtrim(x)) (LEN ignores trailing blanks)
 *   datalength(binary)                -> octet_length (text: refused, it counts SQL Server bytes)
 *   upper lower ltrim rtrim trim reverse -> same (trim -> btrim)
 *   substring left right replace      -> substr left right replace (replace: refused under a
 *                                        _CI_ collation when the searched text has letters)
 *   charindex(a,b)                    -> strpos(b,a) (lower() on both under _CI_)
 *   replicate space concat            -> repeat, repeat(' ',n), || of COALESCE(x,'')
 *   abs ceiling floor sign sqrt exp log log10 square power round pi
 *                                     -> abs ceil floor sign sqrt exp ln log power(x,2) power
 *                                        round/trunc pi (float arguments cast as T-SQL's are)
 *   year month day datepart           -> CAST(EXTRACT(.. FROM x) AS integer) (week/weekday:
 *                                        refused, they depend on SET DATEFIRST)
 *   dateadd(part,n,x)                 -> x + interval 'n part' (a date stays a date)
 *   datediff(year|quarter|month|day|hour|minute|second, a, b) -> boundaries crossed, as T-SQL
 *   CAST / CONVERT                    -> CAST to the mapped type (numeric -> integer truncates,
 *                                        as T-SQL does; date/time -> text only with a known
 *                                        style, through to_char; string literals to dates are
 *                                        parsed here, with the style's field order)
 *   a + b                             -> a || b when both are text (char(n): rpad(x, n), to
 *                                        keep its blanks as T-SQL does); datetime + n -> n days
 *   x LIKE 'p' [ESCAPE 'c']           -> x ~ '^regex *$' (~* under _CI_ when p has letters)
 *   bit = 0 / 1                       -> = false / true; bit in arithmetic -> CAST(.. AS integer)
 *   string vs number, string vs date  -> the string converts (T-SQL's type precedence)
 *   text = 'Lit' under _CI_           -> lower(x) = 'lit'
 *   [name] "name"                     -> the identifier the lookup callback gives
 *   N'..' 0x.. $1.5 1e3               -> '..' '\x..'::bytea 1.5 1e3 (the number as written)
 * Refused: user-defined functions, subqueries, sequences (NEXT VALUE FOR), COLLATE, variables,
 * FORMAT and every function not above, and any conversion whose result would differ.
 * Known differences kept: '=' on varchar does not ignore trailing blanks as T-SQL's does;
 * a _CI_ comparison uses lower(), not the collation's exact folding; datetime literals keep
 * their milliseconds (SQL Server rounds them to 1/300 s). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit/tsql.h"

enum {
    MAX_INPUT = 64 * 1024, /* stored definitions are nvarchar(max), but real ones are short */
    MAX_DEPTH = 200,       /* nesting of parentheses, NOT and unary operators */
    MAX_TR_DEPTH = 1000,   /* depth of the tree (a chain of 1000 ORs is a deep tree) */
};

/* ---- arena -------------------------------------------------------------------------- */

typedef struct ablock {
    struct ablock *next;
    size_t used, cap;
    max_align_t data[];
} ablock;

/* PostgreSQL's view of a value's type. */
typedef enum cls {
    C_UNKNOWN, /* a column whose type the caller did not give */
    C_NULL,    /* the NULL literal */
    C_BOOL,
    C_INT,
    C_NUM,
    C_FLOAT,
    C_TEXT, /* text / varchar */
    C_CHAR, /* char(n): blank-padded */
    C_DATE,
    C_TS,
    C_TSTZ,
    C_TIME,
    C_UUID,
    C_BYTEA,
    C_OTHER
} cls;

static const char *const cls_name[] = {
    [C_UNKNOWN] = "unknown",  [C_NULL] = "null", [C_BOOL] = "boolean", [C_INT] = "integer", [C_NUM] = "numeric",
    [C_FLOAT] = "float",      [C_TEXT] = "text", [C_CHAR] = "char",    [C_DATE] = "date",   [C_TS] = "timestamp",
    [C_TSTZ] = "timestamptz", [C_TIME] = "time", [C_UUID] = "uuid",    [C_BYTEA] = "bytea", [C_OTHER] = "other",
};

typedef enum tkind { T_EOF, T_NUM, T_STR, T_BIN, T_NAME, T_QNAME, T_OP } tkind;

typedef struct tok {
    tkind k;
    const char *s; /* NUM: digits as written ($ dropped); STR/QNAME: unescaped value;
                      BIN: hex digits; NAME: as written; OP: the operator */
    size_t off;    /* byte offset in the input */
    bool unicode;  /* N'..' */
} tok;

typedef enum ekind {
    E_NUM,
    E_STR,
    E_BIN,
    E_NULL,
    E_COL,
    E_NILADIC,
    E_FUNC,
    E_NEG,
    E_POS,
    E_BITNOT,
    E_ARITH,
    E_NOT,
    E_AND,
    E_OR,
    E_CMP,
    E_ISNULL,
    E_LIKE,
    E_IN,
    E_BETWEEN,
    E_CASE,
    E_CAST
} ekind;

typedef struct sqltype {
    char name[32]; /* lower case */
    long p1, p2;   /* -1: absent */
    bool max;
} sqltype;

typedef struct node {
    ekind k;
    const char *s;  /* literal text, name, operator, lower-case function name */
    bool neg;       /* NOT LIKE / NOT IN / NOT BETWEEN / IS NOT NULL */
    bool qualified; /* a schema-qualified function name */
    bool convert;   /* E_CAST written as CONVERT */
    bool has_style;
    long style;
    sqltype ty;      /* E_CAST */
    struct node **a; /* children */
    size_t na;
    size_t off;
} node;

/* A translated expression. */
typedef struct val {
    const char *s; /* PostgreSQL text */
    int prec;      /* P_* of its top-level construct */
    cls c;
    long len;        /* C_CHAR: n */
    bool immut;      /* immutable in PostgreSQL */
    const node *lit; /* the literal it is (E_NUM, E_STR, E_BIN, E_NULL), else NULL */
    bool now;        /* LOCALTIMESTAMP (so a date target can take CURRENT_DATE) */
} val;

/* PostgreSQL precedence, loosest first (PostgreSQL 15 manual, table 4.2). */
enum { P_OR = 1, P_AND, P_NOT, P_IS, P_CMP, P_LIKE, P_OTHER, P_ADD, P_MUL, P_UNARY, P_ATOM };

typedef struct tx {
    const b2p_tsql_context *cx;
    const char *src;
    ablock *arena;
    tok *toks;
    size_t ntok, pos;
    int depth;
    jmp_buf jb;
    b2p_status st;
    char why[512];
} tx;

static void fail(tx *t, b2p_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
static void fail(tx *t, b2p_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, sizeof t->why, fmt, ap);
    va_end(ap);
    t->st = st;
    longjmp(t->jb, 1);
}

#define UNSUP(...) fail(t, B2P_ERR_UNSUPPORTED, __VA_ARGS__)

static void *aalloc(tx *t, size_t n) {
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!t->arena || t->arena->cap - t->arena->used < n) {
        size_t cap = n > 8192 ? n : 8192;
        ablock *b = malloc(sizeof *b + cap);
        if (!b) fail(t, B2P_ERR_NOMEM, "out of memory translating an expression");
        b->next = t->arena;
        b->used = 0;
        b->cap = cap;
        t->arena = b;
    }
    void *p = (char *)t->arena->data + t->arena->used;
    t->arena->used += n;
    return p;
}

static char *adup(tx *t, const char *s, size_t n) {
    char *p = aalloc(t, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Concatenation of a NULL-terminated list of strings. */
static char *acat(tx *t, ...) {
    va_list ap;
    size_t n = 0;
    va_start(ap, t);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;) n += strlen(s);
    va_end(ap);
    char *p = aalloc(t, n + 1), *q = p;
    va_start(ap, t);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
        size_t k = strlen(s);
        memcpy(q, s, k);
        q += k;
    }
    va_end(ap);
    *q = '\0';
    return p;
}

static char *afmt(tx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *afmt(tx *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) fail(t, B2P_ERR_INTERNAL, "formatting failed");
    char *p = aalloc(t, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* 'text' with quotes doubled (standard_conforming_strings: backslashes are plain). */
static char *quote_lit(tx *t, const char *s) {
    size_t n = 2;
    for (const char *p = s; *p; p++) n += *p == '\'' ? 2 : 1;
    char *o = aalloc(t, n + 1), *q = o;
    *q++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') *q++ = '\'';
        *q++ = *p;
    }
    *q++ = '\'';
    *q = '\0';
    return o;
}

/* A short excerpt of user text for messages: printable ASCII, at most 40 bytes. */
static const char *show(tx *t, const char *s) {
    char buf[48];
    size_t i = 0;
    for (; s[i] && i < 40; i++) buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) {
        buf[i++] = '.';
        buf[i++] = '.';
    }
    return adup(t, buf, i);
}

static bool ieq(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
    return *a == *b;
}

static char *lower_dup(tx *t, const char *s) {
    char *p = adup(t, s, strlen(s));
    for (char *q = p; *q; q++) *q = (char)tolower((unsigned char)*q);
    return p;
}

/* ---- stage 1: tokens ---------------------------------------------------------------- */

static bool is_name_start(unsigned char c) { return isalpha(c) || c == '_' || c == '@' || c == '#' || c >= 0x80; }
static bool is_name_char(unsigned char c) { return is_name_start(c) || isdigit(c) || c == '$'; }

/* Offset of the first byte that is not well-formed UTF-8 (RFC 3629), or SIZE_MAX. What
 * PostgreSQL would refuse in a script must not pass through into one. */
static size_t utf8_bad(const unsigned char *s) {
    for (size_t i = 0; s[i];) {
        unsigned c = s[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else
            return i;
        for (size_t k = 1; k <= n; k++) {
            unsigned d = s[i + k];
            if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return i;
        }
        i += n + 1;
    }
    return SIZE_MAX;
}

static void lex(tx *t) {
    const char *s = t->src;
    size_t bad = utf8_bad((const unsigned char *)s);
    if (bad != SIZE_MAX) fail(t, B2P_ERR_CORRUPT, "invalid UTF-8 at offset %zu", bad);
    size_t n = strlen(s), i = 0, cap = 16;
    t->toks = aalloc(t, cap * sizeof(tok));
    t->ntok = 0;
    for (;;) {
        while (i < n) { /* blanks and comments */
            unsigned char c = (unsigned char)s[i];
            if (c <= ' ') {
                i++;
            } else if (c == '-' && s[i + 1] == '-') {
                while (i < n && s[i] != '\n') i++;
            } else if (c == '/' && s[i + 1] == '*') {
                size_t j = i + 2;
                while (j + 1 < n && !(s[j] == '*' && s[j + 1] == '/')) j++;
                if (j + 1 >= n) fail(t, B2P_ERR_CORRUPT, "unterminated comment at offset %zu", i);
                i = j + 2;
            } else {
                break;
            }
        }
        if (t->ntok == cap) {
            tok *nt = aalloc(t, 2 * cap * sizeof(tok));
            memcpy(nt, t->toks, cap * sizeof(tok));
            t->toks = nt;
            cap *= 2;
        }
        tok *k = &t->toks[t->ntok++];
        memset(k, 0, sizeof *k);
        k->off = i;
        if (i >= n) {
            k->k = T_EOF;
            k->s = "";
            return;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
            size_t j = i + 2;
            while (isxdigit((unsigned char)s[j])) j++;
            if (is_name_char((unsigned char)s[j])) fail(t, B2P_ERR_CORRUPT, "bad binary literal at offset %zu", i);
            k->k = T_BIN;
            k->s = adup(t, s + i + 2, j - i - 2);
            i = j;
        } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)s[i + 1])) ||
                   (c == '$' && (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '.'))) {
            size_t st = c == '$' ? i + 1 : i, j = st;
            while (isdigit((unsigned char)s[j])) j++;
            if (s[j] == '.') {
                j++;
                while (isdigit((unsigned char)s[j])) j++;
            }
            if (c != '$' && (s[j] == 'e' || s[j] == 'E')) {
                size_t e = j + 1;
                if (s[e] == '+' || s[e] == '-') e++;
                if (!isdigit((unsigned char)s[e])) fail(t, B2P_ERR_CORRUPT, "bad number at offset %zu", i);
                while (isdigit((unsigned char)s[e])) e++;
                j = e;
            }
            if (is_name_char((unsigned char)s[j]) || s[j] == '.')
                fail(t, B2P_ERR_CORRUPT, "bad number at offset %zu", i);
            k->k = T_NUM;
            k->s = adup(t, s + st, j - st);
            if (!strcmp(k->s, ".")) fail(t, B2P_ERR_CORRUPT, "bad number at offset %zu", i);
            i = j;
        } else if (c == '\'' || ((c == 'N' || c == 'n') && s[i + 1] == '\'')) {
            k->unicode = c != '\'';
            size_t j = i + (k->unicode ? 2 : 1);
            char *v = aalloc(t, n - j + 1), *q = v;
            for (;;) {
                if (j >= n) fail(t, B2P_ERR_CORRUPT, "unterminated string literal at offset %zu", i);
                if (s[j] == '\'') {
                    if (s[j + 1] != '\'') break;
                    j++;
                }
                *q++ = s[j++];
            }
            *q = '\0';
            k->k = T_STR;
            k->s = v;
            i = j + 1;
        } else if (c == '[' || c == '"') {
            char close = c == '[' ? ']' : '"';
            size_t j = i + 1;
            char *v = aalloc(t, n - j + 1), *q = v;
            for (;;) {
                if (j >= n) fail(t, B2P_ERR_CORRUPT, "unterminated quoted name at offset %zu", i);
                if (s[j] == close) {
                    if (s[j + 1] != close) break;
                    j++;
                }
                *q++ = s[j++];
            }
            *q = '\0';
            if (q == v) fail(t, B2P_ERR_CORRUPT, "empty quoted name at offset %zu", i);
            k->k = T_QNAME;
            k->s = v;
            i = j + 1;
        } else if (is_name_start(c)) {
            size_t j = i;
            while (j < n && is_name_char((unsigned char)s[j])) j++;
            k->k = T_NAME;
            k->s = adup(t, s + i, j - i);
            i = j;
        } else {
            static const char *const two[] = {"<=", ">=", "<>", "!=", "!<", "!>"};
            k->k = T_OP;
            for (size_t o = 0; o < sizeof two / sizeof *two; o++)
                if (s[i] == two[o][0] && s[i + 1] == two[o][1]) k->s = two[o];
            if (k->s) {
                i += 2;
            } else if (strchr("(),.+-*/%=<>&|^~", c)) {
                k->s = adup(t, s + i, 1);
                i++;
            } else {
                fail(t, B2P_ERR_CORRUPT, "unexpected character 0x%02x at offset %zu", c, i);
            }
        }
    }
}

/* ---- stage 2: parse ----------------------------------------------------------------- */

static const tok *peek(tx *t) { return &t->toks[t->pos]; }
static const tok *peek2(tx *t) { return &t->toks[t->pos + (t->toks[t->pos].k != T_EOF)]; }
static const tok *next(tx *t) {
    const tok *k = &t->toks[t->pos];
    if (k->k != T_EOF) t->pos++;
    return k;
}
static bool is_op(const tok *k, const char *op) { return k->k == T_OP && !strcmp(k->s, op); }
static bool is_kw(const tok *k, const char *kw) { return k->k == T_NAME && ieq(k->s, kw); }
static bool accept_op(tx *t, const char *op) {
    if (!is_op(peek(t), op)) return false;
    t->pos++;
    return true;
}
static bool accept_kw(tx *t, const char *kw) {
    if (!is_kw(peek(t), kw)) return false;
    t->pos++;
    return true;
}
static const char *tok_desc(tx *t, const tok *k) {
    if (k->k == T_EOF) return "end of text";
    if (k->k == T_STR) return "a string";
    if (k->k == T_NUM) return "a number";
    return afmt(t, "'%s'", show(t, k->s));
}
static void expect_op(tx *t, const char *op) {
    if (!accept_op(t, op))
        fail(t, B2P_ERR_CORRUPT, "expected '%s' at offset %zu, found %s", op, peek(t)->off, tok_desc(t, peek(t)));
}
static void expect_kw(tx *t, const char *kw) {
    if (!accept_kw(t, kw))
        fail(t, B2P_ERR_CORRUPT, "expected %s at offset %zu, found %s", kw, peek(t)->off, tok_desc(t, peek(t)));
}

static node *mk(tx *t, ekind k, size_t off, size_t na) {
    node *e = aalloc(t, sizeof *e);
    memset(e, 0, sizeof *e);
    e->k = k;
    e->off = off;
    e->na = na;
    e->a = na ? aalloc(t, na * sizeof(node *)) : NULL;
    return e;
}

static void enter(tx *t) {
    if (++t->depth > MAX_DEPTH) UNSUP("expression nested deeper than %d levels", MAX_DEPTH);
}

/* Words that end an operand: they may not be read as a column name. */
static bool reserved(const char *w) {
    static const char *const kw[] = {"and",     "or",     "not",  "is",    "null",   "like",    "in",
                                     "between", "case",   "when", "then",  "else",   "end",     "as",
                                     "escape",  "select", "from", "where", "exists", "collate", "over"};
    for (size_t i = 0; i < sizeof kw / sizeof *kw; i++)
        if (ieq(w, kw[i])) return true;
    return false;
}

static node *parse_expr(tx *t);

/* A node list that grows (function arguments, IN lists, CASE arms). */
typedef struct nlist {
    node **a;
    size_t n, cap;
} nlist;
static void nl_push(tx *t, nlist *l, node *e) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        node **a = aalloc(t, cap * sizeof *a);
        if (l->n) memcpy(a, l->a, l->n * sizeof *a);
        l->a = a;
        l->cap = cap;
    }
    l->a[l->n++] = e;
}
static node *mk_list(tx *t, ekind k, size_t off, const nlist *l) {
    node *e = mk(t, k, off, 0);
    e->a = l->a;
    e->na = l->n;
    return e;
}

static void parse_type(tx *t, sqltype *ty) {
    const tok *k = next(t);
    if (k->k != T_NAME && k->k != T_QNAME)
        fail(t, B2P_ERR_CORRUPT, "expected a type name at offset %zu, found %s", k->off, tok_desc(t, k));
    const char *name = k->s;
    if (accept_op(t, ".")) { /* [sys].[int] */
        k = next(t);
        if (k->k != T_NAME && k->k != T_QNAME) fail(t, B2P_ERR_CORRUPT, "expected a type name at offset %zu", k->off);
        name = k->s;
    }
    if (strlen(name) >= sizeof ty->name) UNSUP("type %s is not translated", show(t, name));
    memset(ty, 0, sizeof *ty);
    for (size_t i = 0; name[i]; i++) ty->name[i] = (char)tolower((unsigned char)name[i]);
    ty->p1 = ty->p2 = -1;
    if (!strcmp(ty->name, "double") && accept_kw(t, "precision")) strcpy(ty->name, "float");
    if (accept_op(t, "(")) {
        for (int i = 0; i < 2; i++) {
            const tok *a = next(t);
            if (i == 0 && is_kw(a, "max")) {
                ty->max = true;
            } else if (a->k == T_NUM && strspn(a->s, "0123456789") == strlen(a->s) && strlen(a->s) < 9) {
                *(i ? &ty->p2 : &ty->p1) = atol(a->s);
            } else {
                fail(t, B2P_ERR_CORRUPT, "bad type length at offset %zu", a->off);
            }
            if (i == 1 || !accept_op(t, ",")) break;
        }
        expect_op(t, ")");
    }
}

static node *parse_primary(tx *t) {
    const tok *k = peek(t);
    size_t off = k->off;
    node *e;
    switch (k->k) {
    case T_NUM:
        next(t);
        e = mk(t, E_NUM, off, 0);
        e->s = k->s;
        return e;
    case T_STR:
        next(t);
        e = mk(t, E_STR, off, 0);
        e->s = k->s;
        return e;
    case T_BIN:
        next(t);
        e = mk(t, E_BIN, off, 0);
        e->s = k->s;
        return e;
    case T_OP:
        if (is_op(k, "(")) {
            next(t);
            if (is_kw(peek(t), "select")) UNSUP("subqueries are not translated");
            e = parse_expr(t);
            expect_op(t, ")");
            return e;
        }
        fail(t, B2P_ERR_CORRUPT, "unexpected %s at offset %zu", tok_desc(t, k), off);
    case T_EOF: fail(t, B2P_ERR_CORRUPT, "unexpected end of text at offset %zu", off);
    case T_NAME:
    case T_QNAME: break;
    }
    if (k->k == T_NAME) {
        if (ieq(k->s, "null")) {
            next(t);
            return mk(t, E_NULL, off, 0);
        }
        if (ieq(k->s, "case")) {
            next(t);
            nlist l = {0};
            nl_push(t, &l, is_kw(peek(t), "when") ? NULL : parse_expr(t));
            if (!is_kw(peek(t), "when")) fail(t, B2P_ERR_CORRUPT, "CASE without WHEN at offset %zu", peek(t)->off);
            while (accept_kw(t, "when")) {
                nl_push(t, &l, parse_expr(t));
                expect_kw(t, "then");
                nl_push(t, &l, parse_expr(t));
            }
            nl_push(t, &l, accept_kw(t, "else") ? parse_expr(t) : NULL);
            expect_kw(t, "end");
            return mk_list(t, E_CASE, off, &l);
        }
        if ((ieq(k->s, "cast") || ieq(k->s, "convert")) && is_op(peek2(t), "(")) {
            bool conv = ieq(k->s, "convert");
            next(t);
            next(t);
            e = mk(t, E_CAST, off, 1);
            e->convert = conv;
            if (conv) {
                parse_type(t, &e->ty);
                expect_op(t, ",");
                e->a[0] = parse_expr(t);
                if (accept_op(t, ",")) {
                    node *st = parse_expr(t);
                    if (st->k != E_NUM || strspn(st->s, "0123456789") != strlen(st->s) || strlen(st->s) > 6)
                        UNSUP("CONVERT with a non-constant style");
                    e->has_style = true;
                    e->style = atol(st->s);
                }
            } else {
                e->a[0] = parse_expr(t);
                expect_kw(t, "as");
                parse_type(t, &e->ty);
            }
            expect_op(t, ")");
            return e;
        }
        if (ieq(k->s, "exists") || ieq(k->s, "select")) UNSUP("subqueries are not translated");
        if (ieq(k->s, "next") && is_kw(peek2(t), "value")) UNSUP("NEXT VALUE FOR a sequence is not translated");
        if (k->s[0] == '@') UNSUP("variable %s in an expression", show(t, k->s));
        if (reserved(k->s)) fail(t, B2P_ERR_CORRUPT, "unexpected %s at offset %zu", tok_desc(t, k), off);
    }
    /* name [. name ...] [ ( args ) ] */
    next(t);
    const char *name = k->s;
    bool qualified = false;
    while (is_op(peek(t), ".")) {
        next(t);
        const tok *p = next(t);
        if (p->k != T_NAME && p->k != T_QNAME)
            fail(t, B2P_ERR_CORRUPT, "expected a name after '.' at offset %zu", p->off);
        name = acat(t, name, ".", p->s, NULL);
        qualified = true;
    }
    if (accept_op(t, "(")) {
        nlist l = {0};
        if (!accept_op(t, ")")) {
            do {
                if (is_op(peek(t), "*")) UNSUP("aggregate %s(*) in an expression", show(t, name));
                if (is_kw(peek(t), "distinct")) UNSUP("aggregate %s(DISTINCT ..) in an expression", show(t, name));
                nl_push(t, &l, parse_expr(t));
            } while (accept_op(t, ","));
            expect_op(t, ")");
        }
        if (is_kw(peek(t), "over")) UNSUP("window function %s", show(t, name));
        e = mk_list(t, E_FUNC, off, &l);
        e->s = lower_dup(t, name);
        e->qualified = qualified;
        return e;
    }
    if (k->k == T_NAME && !qualified) {
        static const char *const niladic[] = {"current_timestamp", "current_user", "session_user",
                                              "system_user",       "user",         "current_date"};
        for (size_t i = 0; i < sizeof niladic / sizeof *niladic; i++)
            if (ieq(name, niladic[i])) {
                e = mk(t, E_NILADIC, off, 0);
                e->s = niladic[i];
                return e;
            }
    }
    if (qualified) UNSUP("multi-part name %s", show(t, name));
    e = mk(t, E_COL, off, 0);
    e->s = name;
    return e;
}

static node *parse_unary(tx *t) {
    const tok *k = peek(t);
    if (is_op(k, "-") || is_op(k, "+") || is_op(k, "~")) {
        next(t);
        enter(t);
        node *e = mk(t, is_op(k, "-") ? E_NEG : is_op(k, "+") ? E_POS : E_BITNOT, k->off, 1);
        e->a[0] = parse_unary(t);
        t->depth--;
        return e;
    }
    node *e = parse_primary(t);
    if (is_kw(peek(t), "collate")) UNSUP("COLLATE in an expression is not translated");
    return e;
}

static node *binary(tx *t, ekind k, const char *op, size_t off, node *l, node *r) {
    node *e = mk(t, k, off, 2);
    e->s = op;
    e->a[0] = l;
    e->a[1] = r;
    return e;
}

static node *parse_mul(tx *t) {
    node *l = parse_unary(t);
    for (;;) {
        const tok *k = peek(t);
        if (!(is_op(k, "*") || is_op(k, "/") || is_op(k, "%"))) return l;
        next(t);
        l = binary(t, E_ARITH, k->s, k->off, l, parse_unary(t));
    }
}

static node *parse_add(tx *t) {
    node *l = parse_mul(t);
    for (;;) {
        const tok *k = peek(t);
        if (!(is_op(k, "+") || is_op(k, "-") || is_op(k, "&") || is_op(k, "|") || is_op(k, "^"))) return l;
        next(t);
        l = binary(t, E_ARITH, k->s, k->off, l, parse_mul(t));
    }
}

static node *parse_pred(tx *t) {
    node *l = parse_add(t);
    const tok *k = peek(t);
    static const char *const cmp[] = {"=", "<>", "!=", "<", ">", "<=", ">=", "!<", "!>"};
    for (size_t i = 0; i < sizeof cmp / sizeof *cmp; i++)
        if (is_op(k, cmp[i])) {
            next(t);
            if (is_kw(peek(t), "all") || is_kw(peek(t), "any") || is_kw(peek(t), "some"))
                UNSUP("subqueries are not translated");
            return binary(t, E_CMP, k->s, k->off, l, parse_add(t));
        }
    if (accept_kw(t, "is")) {
        node *e = mk(t, E_ISNULL, k->off, 1);
        e->neg = accept_kw(t, "not");
        expect_kw(t, "null");
        e->a[0] = l;
        return e;
    }
    bool neg = false;
    if (is_kw(k, "not") && (is_kw(peek2(t), "like") || is_kw(peek2(t), "in") || is_kw(peek2(t), "between"))) {
        next(t);
        neg = true;
        k = peek(t);
    }
    if (accept_kw(t, "like")) {
        node *e = mk(t, E_LIKE, k->off, 3);
        e->neg = neg;
        e->a[0] = l;
        e->a[1] = parse_add(t);
        e->a[2] = accept_kw(t, "escape") ? parse_add(t) : NULL;
        return e;
    }
    if (accept_kw(t, "in")) {
        expect_op(t, "(");
        if (is_kw(peek(t), "select")) UNSUP("subqueries are not translated");
        nlist lst = {0};
        nl_push(t, &lst, l);
        do nl_push(t, &lst, parse_expr(t));
        while (accept_op(t, ","));
        expect_op(t, ")");
        node *e = mk_list(t, E_IN, k->off, &lst);
        e->neg = neg;
        return e;
    }
    if (accept_kw(t, "between")) {
        node *e = mk(t, E_BETWEEN, k->off, 3);
        e->neg = neg;
        e->a[0] = l;
        e->a[1] = parse_add(t);
        expect_kw(t, "and");
        e->a[2] = parse_add(t);
        return e;
    }
    if (neg) fail(t, B2P_ERR_CORRUPT, "unexpected NOT at offset %zu", k->off);
    return l;
}

static node *parse_not(tx *t) {
    const tok *k = peek(t);
    if (accept_kw(t, "not")) {
        enter(t);
        node *e = mk(t, E_NOT, k->off, 1);
        e->a[0] = parse_not(t);
        t->depth--;
        return e;
    }
    return parse_pred(t);
}

static node *parse_and(tx *t) {
    node *l = parse_not(t);
    for (;;) {
        const tok *k = peek(t);
        if (!accept_kw(t, "and")) return l;
        l = binary(t, E_AND, "AND", k->off, l, parse_not(t));
    }
}

static node *parse_expr(tx *t) {
    enter(t);
    node *l = parse_and(t);
    for (;;) {
        const tok *k = peek(t);
        if (!accept_kw(t, "or")) break;
        l = binary(t, E_OR, "OR", k->off, l, parse_and(t));
    }
    t->depth--;
    return l;
}

/* ---- types ---------------------------------------------------------------------------- */

/* The class of a PostgreSQL type name; *len gets n of char(n). */
static cls pg_class(const char *type, long *len) {
    char b[64];
    size_t n = 0;
    *len = -1;
    if (!type) return C_UNKNOWN;
    for (const char *p = type; *p && n < sizeof b - 1; p++) {
        if (*p == '(') { /* drop "(...)", keep its first number */
            *len = atol(p + 1);
            while (*p && *p != ')') p++;
            if (!*p) break;
            continue;
        }
        b[n++] = (char)tolower((unsigned char)*p);
    }
    while (n && b[n - 1] == ' ') n--;
    b[n] = '\0';
    static const struct {
        const char *name;
        cls c;
    } map[] = {
        {"boolean", C_BOOL},     {"bool", C_BOOL},
        {"smallint", C_INT},     {"integer", C_INT},
        {"int", C_INT},          {"int2", C_INT},
        {"int4", C_INT},         {"int8", C_INT},
        {"bigint", C_INT},       {"numeric", C_NUM},
        {"decimal", C_NUM},      {"money", C_NUM},
        {"real", C_FLOAT},       {"float4", C_FLOAT},
        {"float8", C_FLOAT},     {"double precision", C_FLOAT},
        {"float", C_FLOAT},      {"text", C_TEXT},
        {"varchar", C_TEXT},     {"character varying", C_TEXT},
        {"citext", C_TEXT},      {"name", C_TEXT},
        {"char", C_CHAR},        {"character", C_CHAR},
        {"bpchar", C_CHAR},      {"date", C_DATE},
        {"timestamp", C_TS},     {"timestamp without time zone", C_TS},
        {"timestamptz", C_TSTZ}, {"timestamp with time zone", C_TSTZ},
        {"time", C_TIME},        {"time without time zone", C_TIME},
        {"uuid", C_UUID},        {"bytea", C_BYTEA},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcmp(b, map[i].name)) {
            if (map[i].c == C_CHAR && *len < 0) *len = 1;
            return map[i].c;
        }
    return C_OTHER;
}

static bool is_numc(cls c) { return c == C_INT || c == C_NUM || c == C_FLOAT; }
static bool is_strc(cls c) { return c == C_TEXT || c == C_CHAR; }
static bool is_timec(cls c) { return c == C_DATE || c == C_TS || c == C_TSTZ || c == C_TIME; }

/* A T-SQL type -> PostgreSQL type text and class (the type mapping of README.md). */
static const char *map_type(tx *t, const sqltype *ty, cls *c, long *len) {
    const char *n = ty->name;
    long p1 = ty->p1, p2 = ty->p2;
    *len = -1;
    if (!strcmp(n, "bit")) return *c = C_BOOL, "boolean";
    if (!strcmp(n, "tinyint") || !strcmp(n, "smallint")) return *c = C_INT, "smallint";
    if (!strcmp(n, "int") || !strcmp(n, "integer")) return *c = C_INT, "integer";
    if (!strcmp(n, "bigint")) return *c = C_INT, "bigint";
    if (!strcmp(n, "decimal") || !strcmp(n, "numeric") || !strcmp(n, "dec")) {
        *c = C_NUM;
        if (p1 < 0) p1 = 18;
        if (p2 < 0) p2 = 0;
        if (p1 < 1 || p1 > 38 || p2 > p1) fail(t, B2P_ERR_CORRUPT, "bad precision in %s(%ld,%ld)", n, p1, p2);
        return afmt(t, "numeric(%ld,%ld)", p1, p2);
    }
    if (!strcmp(n, "money")) return *c = C_NUM, "numeric(19,4)";
    if (!strcmp(n, "smallmoney")) return *c = C_NUM, "numeric(10,4)";
    if (!strcmp(n, "real")) return *c = C_FLOAT, "real";
    if (!strcmp(n, "float")) return *c = C_FLOAT, (p1 >= 1 && p1 <= 24) ? "real" : "double precision";
    if (!strcmp(n, "date")) return *c = C_DATE, "date";
    if (!strcmp(n, "datetime")) return *c = C_TS, "timestamp(3)";
    if (!strcmp(n, "smalldatetime")) return *c = C_TS, "timestamp(0)";
    if (!strcmp(n, "datetime2")) return *c = C_TS, afmt(t, "timestamp(%ld)", p1 < 0 || p1 > 6 ? 6 : p1);
    if (!strcmp(n, "time")) return *c = C_TIME, afmt(t, "time(%ld)", p1 < 0 || p1 > 6 ? 6 : p1);
    if (!strcmp(n, "datetimeoffset")) return *c = C_TSTZ, "timestamptz";
    if (!strcmp(n, "char") || !strcmp(n, "nchar") || !strcmp(n, "character")) {
        if (ty->max) fail(t, B2P_ERR_CORRUPT, "%s(max) is not a type", n);
        *len = p1 < 0 ? 30 : p1; /* CAST's default length */
        if (*len < 1) fail(t, B2P_ERR_CORRUPT, "bad length %s(%ld)", n, *len);
        return *c = C_CHAR, afmt(t, "char(%ld)", *len);
    }
    if (!strcmp(n, "varchar") || !strcmp(n, "nvarchar")) {
        *c = C_TEXT;
        if (ty->max) return "text";
        if (p1 == 0) fail(t, B2P_ERR_CORRUPT, "bad length %s(0)", n);
        return afmt(t, "varchar(%ld)", p1 < 0 ? 30 : p1);
    }
    if (!strcmp(n, "text") || !strcmp(n, "ntext") || !strcmp(n, "sysname")) return *c = C_TEXT, "text";
    if (!strcmp(n, "uniqueidentifier")) return *c = C_UUID, "uuid";
    if (!strcmp(n, "varbinary") || !strcmp(n, "image")) return *c = C_BYTEA, "bytea";
    UNSUP("conversion to %s is not translated", show(t, n));
}

/* The PostgreSQL type a class is cast to when a value must become it. */
static const char *cls_cast_type(cls c) {
    switch (c) {
    case C_INT: return "integer";
    case C_NUM: return "numeric";
    case C_FLOAT: return "double precision";
    case C_BOOL: return "boolean";
    case C_TEXT: return "text";
    case C_DATE: return "date";
    case C_TS: return "timestamp";
    case C_TSTZ: return "timestamptz";
    case C_TIME: return "time";
    case C_UUID: return "uuid";
    case C_BYTEA: return "bytea";
    default: return NULL;
    }
}

/* ---- literals ------------------------------------------------------------------------- */

static val mkv(const char *s, int prec, cls c, bool immut) {
    return (val){.s = s, .prec = prec, .c = c, .len = -1, .immut = immut};
}

/* A numeric literal's text: [-]digits[.digits][e..]. */
static bool num_is_int(const char *s) {
    if (*s == '-') s++;
    return *s && strspn(s, "0123456789") == strlen(s);
}
static bool num_is_zero(const char *s) {
    for (; *s; s++) {
        if (*s == 'e' || *s == 'E') break;
        if (*s >= '1' && *s <= '9') return false;
    }
    return true;
}

/* Parses a T-SQL number written in a string ("  -12.5 "); fills out with a canonical
 * literal. want: C_INT (digits only), C_NUM (no exponent), C_FLOAT. */
static bool str_number(tx *t, const char *s, cls want, const char **out) {
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ') n--;
    if (n == 0) return false;
    const char *p = s, *e = s + n;
    bool neg = false;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    const char *d0 = p;
    while (p < e && isdigit((unsigned char)*p)) p++;
    size_t ni = (size_t)(p - d0);
    const char *f0 = p;
    if (p < e && *p == '.') {
        if (want == C_INT) return false;
        p++;
        f0 = p;
        while (p < e && isdigit((unsigned char)*p)) p++;
    }
    size_t nf = p < f0 ? 0 : (size_t)(p - f0);
    if (ni == 0 && nf == 0) return false;
    const char *x0 = p;
    if (p < e && (*p == 'e' || *p == 'E')) {
        if (want != C_FLOAT) return false;
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || !isdigit((unsigned char)*p)) return false;
        while (p < e && isdigit((unsigned char)*p)) p++;
    }
    if (p != e) return false;
    *out = acat(t, neg ? "-" : "", ni ? adup(t, d0, ni) : "0", nf ? "." : "", nf ? adup(t, f0, nf) : "",
                adup(t, x0, (size_t)(e - x0)), NULL);
    return true;
}

static bool has_letters(const char *s) {
    for (; *s; s++)
        if (isalpha((unsigned char)*s) || (unsigned char)*s >= 0x80) return true;
    return false;
}

static int days_in_month(long y, long m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

/* Reads exactly w digits (w = 0: 1 or 2 digits). */
static bool rd_digits(const char **p, int w, long *v) {
    const char *s = *p;
    int n = 0;
    long x = 0;
    while (isdigit((unsigned char)s[n]) && (w ? n < w : n < 2)) x = x * 10 + (s[n] - '0'), n++;
    if (n == 0 || (w && n != w)) return false;
    *p = s + n;
    *v = x;
    return true;
}

typedef enum { ORD_MDY, ORD_DMY, ORD_YMD } dorder;

/* A T-SQL date/time string (us_english: DATEFORMAT mdy) -> canonical PostgreSQL literal text
 * for class c. Accepted: YYYYMMDD, YYYY-MM-DD (/ .), MM/DD/YYYY (- .), [T| ]hh:mm[:ss[.f]],
 * or a time alone. "" is 1900-01-01 as in T-SQL. Returns NULL when not understood. */
static const char *str_datetime(tx *t, const char *s, cls c, dorder ord) {
    long y = 1900, mo = 1, d = 1, h = 0, mi = 0, se = 0;
    const char *frac = "";
    while (*s == ' ') s++;
    const char *p = s;
    bool has_date = false, has_time = false;
    size_t digits = strspn(p, "0123456789");
    if (digits == 8) {
        rd_digits(&p, 4, &y);
        rd_digits(&p, 2, &mo);
        rd_digits(&p, 2, &d);
        has_date = true;
    } else if (digits == 4 && (p[4] == '-' || p[4] == '/' || p[4] == '.')) {
        char sep = p[4];
        rd_digits(&p, 4, &y);
        p++;
        if (!rd_digits(&p, 0, &mo) || *p++ != sep || !rd_digits(&p, 0, &d)) return NULL;
        has_date = true;
    } else if ((digits == 1 || digits == 2) && (p[digits] == '/' || p[digits] == '-' || p[digits] == '.')) {
        char sep = p[digits];
        long a, b;
        rd_digits(&p, 0, &a);
        p++;
        if (!rd_digits(&p, 0, &b) || *p++ != sep || !rd_digits(&p, 4, &y)) return NULL;
        if (ord == ORD_DMY)
            d = a, mo = b;
        else if (ord == ORD_MDY)
            mo = a, d = b;
        else
            return NULL;
        has_date = true;
    }
    if (has_date && (*p == 'T' || *p == ' ')) {
        bool tsep = *p == 'T';
        while (*p == ' ' || *p == 'T') p++;
        if (!*p && tsep) return NULL;
    }
    if (*p) {
        if (!rd_digits(&p, 0, &h) || *p++ != ':' || !rd_digits(&p, 2, &mi)) return NULL;
        if (*p == ':') {
            p++;
            if (!rd_digits(&p, 2, &se)) return NULL;
            if (*p == '.') {
                p++;
                size_t nf = strspn(p, "0123456789");
                if (nf == 0 || nf > 7) return NULL;
                frac = acat(t, ".", adup(t, p, nf), NULL);
                p += nf;
            }
        }
        has_time = true;
        while (*p == ' ') p++;
        if (*p) return NULL; /* AM/PM, zones: not guessed */
    }
    if (!has_date && !has_time && *s) return NULL;
    if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
        return NULL;
    if (c == C_DATE) return afmt(t, "%04ld-%02ld-%02ld", y, mo, d);
    if (c == C_TIME) return afmt(t, "%02ld:%02ld:%02ld%s", h, mi, se, frac);
    if (c == C_TSTZ) return afmt(t, "%04ld-%02ld-%02ld %02ld:%02ld:%02ld%s+00", y, mo, d, h, mi, se, frac);
    return afmt(t, "%04ld-%02ld-%02ld %02ld:%02ld:%02ld%s", y, mo, d, h, mi, se, frac);
}

static bool is_uuid(const char *s) {
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (strlen(s) != sizeof shape - 1) return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return false;
    return true;
}

/* A literal (number, string, binary) as a value of class want, with T-SQL's conversion rules.
 * Returns false (with *why) when T-SQL would fail or PostgreSQL cannot say the same. */
static bool lit_as(tx *t, const val *v, cls want, const char *pgtype, val *out, const char **why) {
    const node *l = v->lit;
    *out = *v;
    out->c = want;
    out->prec = P_ATOM;
    out->immut = true;
    if (want == C_UNKNOWN || want == C_OTHER || l->k == E_NULL) {
        *out = *v;
        return true;
    }
    if (l->k == E_NUM) {
        const char *n = v->s; /* with its sign */
        bool isint = num_is_int(n), isfloat = strpbrk(n, "eE") != NULL;
        switch (want) {
        case C_BOOL:
            if (isfloat) break;
            out->s = num_is_zero(n) ? "false" : "true";
            return true;
        case C_INT:
            if (isfloat) break;
            if (!isint) { /* T-SQL truncates a decimal converted to an integer */
                const char *dot = strchr(n, '.');
                out->s = adup(t, n, (size_t)(dot - n));
                if (!strcmp(out->s, "-") || !strcmp(out->s, "") || !strcmp(out->s, "-0")) out->s = "0";
            } else {
                out->s = n;
            }
            out->prec = n[0] == '-' ? P_UNARY : P_ATOM;
            return true;
        case C_NUM:
        case C_FLOAT:
            if (isfloat)
                out->s = acat(t, "CAST(", quote_lit(t, n), " AS ", pgtype ? pgtype : "double precision", ")", NULL);
            out->prec = n[0] == '-' && !isfloat ? P_UNARY : P_ATOM;
            return true;
        case C_TEXT:
        case C_CHAR:
            if (isfloat) break;
            out->s = quote_lit(t, n);
            return true;
        case C_TS:
            if (isint && strlen(n) < 8) { /* datetime = 1900-01-01 + n days */
                long days = atol(n);
                int64_t z = days + 693901; /* days from 0000-03-01 to 1900-01-01 */
                int64_t era = (z >= 0 ? z : z - 146096) / 146097;
                int64_t doe = z - era * 146097;
                int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
                int64_t yy = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
                int64_t mp = (5 * doy + 2) / 153, dd = doy - (153 * mp + 2) / 5 + 1;
                int64_t mm = mp < 10 ? mp + 3 : mp - 9;
                yy += mm <= 2;
                if (yy < 1753 || yy > 9999) break;
                out->s = afmt(t, "'%04lld-%02lld-%02lld 00:00:00'", (long long)yy, (long long)mm, (long long)dd);
                return true;
            }
            break;
        case C_BYTEA:
            if (isint && strlen(n) < 12) {
                long long x = atoll(n);
                if (x < INT32_MIN || x > INT32_MAX) break;
                out->s = afmt(t, "'\\x%08x'::bytea", (unsigned)(uint32_t)(int32_t)x);
                return true;
            }
            break;
        default: break;
        }
        *why = afmt(t, "the number %s cannot become %s the way SQL Server converts it", show(t, n), cls_name[want]);
        return false;
    }
    if (l->k == E_STR) {
        const char *s = l->s, *r;
        switch (want) {
        case C_TEXT:
        case C_CHAR: return true;
        case C_BOOL:
            if (ieq(s, "true") || ieq(s, "false")) {
                out->s = ieq(s, "true") ? "true" : "false";
                return true;
            }
            if (str_number(t, s, C_INT, &r)) {
                out->s = num_is_zero(r) ? "false" : "true";
                return true;
            }
            break;
        case C_INT:
        case C_NUM:
        case C_FLOAT:
            if (!*s && want != C_NUM) { /* CAST('' AS int) = 0 in T-SQL */
                out->s = "0";
                return true;
            }
            if (str_number(t, s, want, &r)) {
                out->s = want == C_FLOAT ? acat(t, "CAST(", quote_lit(t, r), " AS ",
                                                pgtype ? pgtype : "double precision", ")", NULL)
                                         : r;
                out->prec = r[0] == '-' && want != C_FLOAT ? P_UNARY : P_ATOM;
                return true;
            }
            break;
        case C_DATE:
        case C_TS:
        case C_TSTZ:
        case C_TIME:
            if ((r = str_datetime(t, s, want, ORD_MDY)) != NULL) {
                out->s = quote_lit(t, r);
                return true;
            }
            break;
        case C_UUID:
            if (is_uuid(s)) {
                out->s = quote_lit(t, lower_dup(t, s));
                return true;
            }
            break;
        case C_BYTEA: {
            size_t n = strlen(s);
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] >= 0x80) goto str_bad;
            char *h = aalloc(t, 2 * n + 1);
            for (size_t i = 0; i < n; i++) snprintf(h + 2 * i, 3, "%02x", (unsigned char)s[i]);
            h[2 * n] = '\0';
            out->s = acat(t, "'\\x", h, "'::bytea", NULL);
            return true;
        }
        default: break;
        }
    str_bad:
        *why = afmt(t, "'%s' is not a valid %s", show(t, s), cls_name[want]);
        return false;
    }
    if (l->k == E_BIN && want == C_BYTEA) return true;
    *why = afmt(t, "a binary literal cannot become %s", cls_name[want]);
    return false;
}

/* ---- stage 3: translate ----------------------------------------------------------------- */

static val tr(tx *t, const node *e);

/* s wrapped in parentheses when its precedence is below min. */
static const char *par(tx *t, const val *v, int min) { return v->prec < min ? acat(t, "(", v->s, ")", NULL) : v->s; }

/* A string operand with char(n) padding made explicit (T-SQL keeps the blanks of char(n) in
 * + and in substring/left/right; PostgreSQL drops them when char(n) becomes text). */
static const char *padded(tx *t, const val *v) {
    if (v->c == C_CHAR && !v->lit && v->len > 0) return afmt(t, "rpad(%s, %ld)", v->s, v->len);
    return v->s;
}

static val to_int_if_bool(tx *t, val v) {
    if (v.c == C_BOOL && !v.lit) {
        v.s = acat(t, "CAST(", v.s, " AS integer)", NULL);
        v.c = C_INT;
        v.prec = P_ATOM;
    }
    return v;
}

/* Makes a and b comparable as T-SQL compares them. ci: set when the comparison must ignore
 * case (collation _CI_ and letters in a string literal). */
static void unify(tx *t, val *a, val *b, const char *what, bool *ci) {
    const char *why = NULL;
    val r;
    if (ci) *ci = false;
    if (a->c == C_NULL || b->c == C_NULL || a->c == C_UNKNOWN || b->c == C_UNKNOWN) {
        if ((a->lit && a->lit->k == E_STR && b->c == C_UNKNOWN) ||
            (b->lit && b->lit->k == E_STR && a->c == C_UNKNOWN)) {
            if (ci && !t->cx->case_sensitive && has_letters(a->lit ? a->lit->s : b->lit->s)) *ci = true;
        }
        return;
    }
    if (is_strc(a->c) && is_strc(b->c)) {
        /* _CI_: lower() on both sides, unless a literal without letters makes it moot */
        if (ci && !t->cx->case_sensitive && !(a->lit && !has_letters(a->lit->s)) &&
            !(b->lit && !has_letters(b->lit->s)))
            *ci = true;
        return;
    }
    if (a->c == b->c || (is_numc(a->c) && is_numc(b->c)) || (a->c == C_DATE && b->c == C_TS) ||
        (a->c == C_TS && b->c == C_DATE))
        return;
    /* T-SQL's data type precedence: a string converts to the other side's type */
    for (int side = 0; side < 2; side++) {
        val *x = side ? b : a, *y = side ? a : b;
        if (!is_strc(x->c) || is_strc(y->c)) continue;
        if (x->lit) {
            if (!lit_as(t, x, y->c, NULL, &r, &why)) UNSUP("%s: %s", what, why);
            *x = r;
            return;
        }
        if (is_numc(y->c) || y->c == C_UUID || (is_timec(y->c) && y->c != C_TSTZ)) {
            x->s = acat(t, "CAST(", x->s, " AS ", cls_cast_type(y->c), ")", NULL);
            x->immut = x->immut && !is_timec(y->c); /* DateStyle */
            x->c = y->c;
            x->prec = P_ATOM;
            return;
        }
        break;
    }
    /* bit against a number: 0 and 1 are false and true; otherwise bit converts to int */
    for (int side = 0; side < 2; side++) {
        val *x = side ? b : a, *y = side ? a : b;
        if (x->c != C_BOOL || !is_numc(y->c)) continue;
        if (y->lit && y->lit->k == E_NUM && (!strcmp(y->s, "0") || !strcmp(y->s, "1"))) {
            y->s = strcmp(y->s, "0") ? "true" : "false";
            y->c = C_BOOL;
            y->prec = P_ATOM;
            return;
        }
        *x = to_int_if_bool(t, *x);
        return;
    }
    UNSUP("%s of %s with %s is not translated", what, cls_name[a->c], cls_name[b->c]);
}

/* T-SQL LIKE pattern -> PostgreSQL regular expression (ARE) anchored as LIKE is; the matched
 * value's trailing blanks are ignored as T-SQL ignores them. */
static const char *like_regex(tx *t, const char *p, int esc) {
    size_t n = strlen(p);
    char *o = aalloc(t, 4 * n + 8), *q = o;
    size_t i = 0, end = n;
    bool lead = false, trail = false;
    while (i < end && p[i] == '%') i++, lead = true;
    /* trailing %: only when not escaped */
    while (end > i && p[end - 1] == '%' &&
           !(esc >= 0 && end >= 2 && p[end - 2] == (char)esc && (end < 3 || p[end - 3] != (char)esc))) {
        end--;
        trail = true;
    }
    if (!lead) *q++ = '^';
    while (i < end) {
        char c = p[i++];
        if (esc >= 0 && c == (char)esc) {
            if (i >= end) UNSUP("LIKE pattern ends with its escape character");
            c = p[i++];
            if (strchr(".^$*+?()[]{}|\\", c)) *q++ = '\\';
            *q++ = c;
            continue;
        }
        if (c == '%') {
            *q++ = '.';
            *q++ = '*';
        } else if (c == '_') {
            *q++ = '.';
        } else if (c == '[') {
            size_t j = i;
            *q++ = '[';
            if (j < end && p[j] == '^') *q++ = '^', j++;
            size_t first = j;
            while (j < end && p[j] != ']') {
                char d = p[j];
                if (d == '\\' || d == '[' || (d == '^' && j != first)) *q++ = '\\';
                if (d == '-' && (j == first || p[j + 1] == ']')) *q++ = '\\';
                *q++ = d;
                j++;
            }
            if (j >= end) UNSUP("LIKE pattern with an unterminated [ class");
            if (j == first) UNSUP("LIKE pattern with an empty [] class");
            *q++ = ']';
            i = j + 1;
        } else {
            if (strchr(".^$*+?()]{}|\\", c)) *q++ = '\\';
            *q++ = c;
        }
    }
    if (!trail) {
        memcpy(q, " *$", 3);
        q += 3;
    }
    *q = '\0';
    return o;
}

static val tr_like(tx *t, const node *e) {
    val x = tr(t, e->a[0]);
    if (!e->a[1] || e->a[1]->k != E_STR) UNSUP("LIKE with a non-constant pattern is not translated");
    int esc = -1;
    if (e->a[2]) {
        if (e->a[2]->k != E_STR || strlen(e->a[2]->s) != 1) UNSUP("LIKE ESCAPE needs a one-character constant");
        esc = (unsigned char)e->a[2]->s[0];
    }
    if (x.c == C_INT || x.c == C_NUM) {
        x.s = acat(t, "CAST(", x.s, " AS text)", NULL);
        x.prec = P_ATOM;
    } else if (!is_strc(x.c) && x.c != C_UNKNOWN && x.c != C_NULL) {
        UNSUP("LIKE on a %s value is not translated", cls_name[x.c]);
    }
    const char *pat = e->a[1]->s;
    const char *re = like_regex(t, pat, esc);
    bool ci = !t->cx->case_sensitive && has_letters(pat);
    const char *op = e->neg ? (ci ? " !~* " : " !~ ") : (ci ? " ~* " : " ~ ");
    val r = mkv(acat(t, par(t, &x, P_OTHER + 1), op, quote_lit(t, re), NULL), P_OTHER, C_BOOL, x.immut);
    return r;
}

/* A side of a case-insensitive comparison. A literal is lowered here (ASCII) rather than by
 * lower('..'): PostgreSQL 15 cannot pick a collation for lower() of a constant inside a
 * generation expression ("could not determine which collation to use"). */
static const char *ci_side(tx *t, const val *v) {
    if (v->lit && v->lit->k == E_STR) {
        bool ascii = true;
        for (const char *p = v->lit->s; *p; p++)
            if ((unsigned char)*p >= 0x80) ascii = false;
        if (ascii) return quote_lit(t, lower_dup(t, v->lit->s));
        if (t->cx->kind == B2P_TSQL_COMPUTED)
            UNSUP("case-insensitive comparison with non-ASCII text in a generated column is not translated");
    }
    return acat(t, "lower(", v->s, ")", NULL);
}

static const char *cmp_op(const char *op) {
    if (!strcmp(op, "!=")) return "<>";
    if (!strcmp(op, "!<")) return ">=";
    if (!strcmp(op, "!>")) return "<=";
    return op;
}

static val tr_cmp(tx *t, const node *e, const char *op, val a, val b) {
    bool ci;
    unify(t, &a, &b, "comparison", &ci);
    const char *sa, *sb;
    if (ci) {
        sa = ci_side(t, &a);
        sb = ci_side(t, &b);
    } else {
        sa = par(t, &a, P_CMP + 1);
        sb = par(t, &b, P_CMP + 1);
    }
    (void)e;
    return mkv(acat(t, sa, " ", cmp_op(op), " ", sb, NULL), P_CMP, C_BOOL, a.immut && b.immut);
}

static val tr_arith(tx *t, const node *e) {
    val a = tr(t, e->a[0]), b = tr(t, e->a[1]);
    const char *op = e->s;
    const char *why;
    val r;
    if (!strcmp(op, "+")) {
        bool sa = is_strc(a.c) || (a.c == C_NULL && is_strc(b.c)), sb = is_strc(b.c) || (b.c == C_NULL && is_strc(a.c));
        if (sa && sb) {
            const char *l = a.prec > P_OTHER ? padded(t, &a) : par(t, &a, P_OTHER);
            const char *rr = b.prec > P_OTHER ? padded(t, &b) : par(t, &b, P_OTHER + 1);
            return mkv(acat(t, l, " || ", rr, NULL), P_OTHER, C_TEXT, a.immut && b.immut);
        }
        if (a.c == C_UNKNOWN || b.c == C_UNKNOWN) UNSUP("+ on a column of unknown type (addition or concatenation?)");
        if ((is_strc(a.c) && !a.lit) || (is_strc(b.c) && !b.lit))
            UNSUP("string concatenation with + on a non-text operand");
        if ((a.c == C_TS) && is_numc(b.c) && !b.lit) { /* datetime + n: n days */
            return mkv(acat(t, par(t, &a, P_ADD), " + ", par(t, &b, P_MUL), " * interval '1 day'", NULL), P_ADD, C_TS,
                       a.immut && b.immut);
        }
    }
    if (a.lit && a.lit->k == E_STR && is_numc(b.c)) {
        if (!lit_as(t, &a, b.c, NULL, &r, &why)) UNSUP("arithmetic: %s", why);
        a = r;
    }
    if (b.lit && b.lit->k == E_STR && is_numc(a.c)) {
        if (!lit_as(t, &b, a.c, NULL, &r, &why)) UNSUP("arithmetic: %s", why);
        b = r;
    }
    if (a.c == C_TS && !strcmp(op, "+") && b.lit && b.lit->k == E_NUM)
        return mkv(acat(t, par(t, &a, P_ADD), " + ", par(t, &b, P_MUL), " * interval '1 day'", NULL), P_ADD, C_TS,
                   a.immut);
    if (a.c == C_TS && !strcmp(op, "-") && is_numc(b.c))
        return mkv(acat(t, par(t, &a, P_ADD), " - ", par(t, &b, P_MUL), " * interval '1 day'", NULL), P_ADD, C_TS,
                   a.immut && b.immut);
    a = to_int_if_bool(t, a);
    b = to_int_if_bool(t, b);
    bool an = is_numc(a.c) || a.c == C_NULL || a.c == C_UNKNOWN, bn = is_numc(b.c) || b.c == C_NULL || b.c == C_UNKNOWN;
    if (!an || !bn) UNSUP("arithmetic %s on %s and %s is not translated", op, cls_name[a.c], cls_name[b.c]);
    cls c = (a.c == C_FLOAT || b.c == C_FLOAT) ? C_FLOAT
            : (a.c == C_NUM || b.c == C_NUM)   ? C_NUM
            : (a.c == C_INT || b.c == C_INT)   ? C_INT
                                               : C_UNKNOWN;
    int prec = P_ADD;
    const char *pop = op;
    if (!strcmp(op, "*") || !strcmp(op, "/") || !strcmp(op, "%")) {
        prec = P_MUL;
        if (!strcmp(op, "%") && c == C_FLOAT) UNSUP("%% on float operands");
    } else if (!strcmp(op, "&") || !strcmp(op, "|") || !strcmp(op, "^")) {
        if (c != C_INT || a.c != C_INT || b.c != C_INT) UNSUP("bitwise %s on non-integer operands", op);
        prec = P_OTHER;
        pop = !strcmp(op, "^") ? "#" : op;
    }
    return mkv(acat(t, par(t, &a, prec), " ", pop, " ", par(t, &b, prec + 1), NULL), prec, c, a.immut && b.immut);
}

/* Simple argument check. */
static void nargs(tx *t, const node *e, size_t lo, size_t hi) {
    if (e->na < lo || e->na > hi) {
        if (lo == hi) UNSUP("function %s takes %zu argument(s), not %zu", e->s, lo, e->na);
        UNSUP("function %s takes %zu to %zu arguments, not %zu", e->s, lo, hi, e->na);
    }
}

static const char *datepart_name(tx *t, const node *a) {
    if (a->k != E_COL && !(a->k == E_STR)) UNSUP("date part must be a name");
    const char *p = a->s;
    static const struct {
        const char *alias, *name;
    } m[] = {
        {"year", "year"},
        {"yy", "year"},
        {"yyyy", "year"},
        {"quarter", "quarter"},
        {"qq", "quarter"},
        {"q", "quarter"},
        {"month", "month"},
        {"mm", "month"},
        {"m", "month"},
        {"dayofyear", "dayofyear"},
        {"dy", "dayofyear"},
        {"y", "dayofyear"},
        {"day", "day"},
        {"dd", "day"},
        {"d", "day"},
        {"week", "week"},
        {"wk", "week"},
        {"ww", "week"},
        {"weekday", "weekday"},
        {"dw", "weekday"},
        {"w", "weekday"},
        {"hour", "hour"},
        {"hh", "hour"},
        {"minute", "minute"},
        {"mi", "minute"},
        {"n", "minute"},
        {"second", "second"},
        {"ss", "second"},
        {"s", "second"},
        {"millisecond", "millisecond"},
        {"ms", "millisecond"},
        {"microsecond", "microsecond"},
        {"mcs", "microsecond"},
        {"nanosecond", "nanosecond"},
        {"ns", "nanosecond"},
        {"iso_week", "isoweek"},
        {"isowk", "isoweek"},
        {"isoww", "isoweek"},
        {"tzoffset", "tzoffset"},
        {"tz", "tzoffset"},
    };
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        if (ieq(p, m[i].alias)) return m[i].name;
    UNSUP("unknown date part %s", show(t, p));
}

static val need_time(tx *t, const char *fn, val x) {
    if (x.lit && x.lit->k == E_STR) {
        val r;
        const char *why;
        if (!lit_as(t, &x, C_TS, NULL, &r, &why)) UNSUP("%s: %s", fn, why);
        r.s = acat(t, "CAST(", r.s, " AS timestamp)", NULL);
        return r;
    }
    if (!is_timec(x.c) && x.c != C_UNKNOWN && x.c != C_NULL)
        UNSUP("%s of a %s value is not translated", fn, cls_name[x.c]);
    return x;
}

static val extract(tx *t, const char *field, val x) {
    char f[16];
    size_t i = 0;
    for (; field[i] && i < sizeof f - 1; i++) f[i] = (char)toupper((unsigned char)field[i]);
    f[i] = '\0';
    val r =
        mkv(acat(t, "CAST(EXTRACT(", f, " FROM ", x.s, ") AS integer)", NULL), P_ATOM, C_INT, x.immut && x.c != C_TSTZ);
    return r;
}

static val tr_datepart(tx *t, const char *part, val x) {
    x = need_time(t, "datepart", x);
    if (!strcmp(part, "year") || !strcmp(part, "quarter") || !strcmp(part, "month") || !strcmp(part, "day") ||
        !strcmp(part, "hour") || !strcmp(part, "minute"))
        return extract(t, part, x);
    if (!strcmp(part, "dayofyear")) return extract(t, "DOY", x);
    if (!strcmp(part, "isoweek")) return extract(t, "WEEK", x);
    if (!strcmp(part, "second"))
        return mkv(acat(t, "CAST(floor(EXTRACT(SECOND FROM ", x.s, ")) AS integer)", NULL), P_ATOM, C_INT,
                   x.immut && x.c != C_TSTZ);
    if (!strcmp(part, "millisecond"))
        return mkv(acat(t, "CAST(floor(EXTRACT(MILLISECONDS FROM ", x.s, ")) AS integer) % 1000", NULL), P_MUL, C_INT,
                   x.immut && x.c != C_TSTZ);
    if (!strcmp(part, "week") || !strcmp(part, "weekday"))
        UNSUP("datepart %s depends on SET DATEFIRST and is not translated", part);
    UNSUP("datepart %s is not translated", part);
}

static val tr_dateadd(tx *t, const node *e) {
    nargs(t, e, 3, 3);
    const char *part = datepart_name(t, e->a[0]);
    val n = tr(t, e->a[1]), x = need_time(t, "dateadd", tr(t, e->a[2]));
    if (n.c != C_INT && !(n.lit && n.lit->k == E_NUM && num_is_int(n.s)))
        UNSUP("dateadd with a non-integer number is not translated");
    static const struct {
        const char *part, *unit;
    } u[] = {
        {"year", "1 year"},
        {"quarter", "3 months"},
        {"month", "1 month"},
        {"dayofyear", "1 day"},
        {"day", "1 day"},
        {"weekday", "1 day"},
        {"week", "7 days"},
        {"hour", "1 hour"},
        {"minute", "1 minute"},
        {"second", "1 second"},
        {"millisecond", "1 millisecond"},
        {"microsecond", "1 microsecond"},
    };
    const char *unit = NULL;
    for (size_t i = 0; i < sizeof u / sizeof *u; i++)
        if (!strcmp(part, u[i].part)) unit = u[i].unit;
    if (!unit) UNSUP("dateadd %s is not translated", part);
    bool timeonly = !strcmp(part, "hour") || !strcmp(part, "minute") || !strcmp(part, "second") ||
                    !strcmp(part, "millisecond") || !strcmp(part, "microsecond");
    if (x.c == C_DATE && timeonly) UNSUP("dateadd %s on a date (SQL Server rejects it)", part);
    if (x.c == C_TIME && !timeonly) UNSUP("dateadd %s on a time (SQL Server rejects it)", part);
    const char *amount;
    if (n.lit) { /* interval '18 years': the unit's count times the amount */
        if (strlen(n.s) > 12) UNSUP("dateadd amount out of range");
        long long k = atoll(n.s) * atoll(unit);
        const char *word = strchr(unit, ' ') + 1;
        bool plural = (k != 1 && k != -1) && word[strlen(word) - 1] != 's';
        amount = afmt(t, "interval '%lld %s%s'", k, word, plural ? "s" : "");
    } else {
        amount = acat(t, par(t, &n, P_MUL), " * interval '", unit, "'", NULL);
    }
    const char *s = acat(t, par(t, &x, P_ADD), " + ", amount, NULL);
    if (x.c == C_DATE) return mkv(acat(t, "CAST(", s, " AS date)", NULL), P_ATOM, C_DATE, x.immut && n.immut);
    if (x.c == C_TIME) return mkv(acat(t, "CAST(", s, " AS time)", NULL), P_ATOM, C_TIME, x.immut && n.immut);
    return mkv(s, P_ADD, x.c == C_UNKNOWN ? C_TS : x.c, x.immut && n.immut && x.c != C_TSTZ);
}

static val tr_datediff(tx *t, const node *e) {
    nargs(t, e, 3, 3);
    const char *part = datepart_name(t, e->a[0]);
    val a = need_time(t, "datediff", tr(t, e->a[1])), b = need_time(t, "datediff", tr(t, e->a[2]));
    if (a.c == C_TSTZ || b.c == C_TSTZ) UNSUP("datediff on datetimeoffset is not translated");
    bool im = a.immut && b.immut;
    const char *ya = acat(t, "EXTRACT(YEAR FROM ", a.s, ")", NULL), *yb = acat(t, "EXTRACT(YEAR FROM ", b.s, ")", NULL);
    const char *s;
    if (!strcmp(part, "year")) {
        s = acat(t, "CAST(", yb, " - ", ya, " AS integer)", NULL);
    } else if (!strcmp(part, "month") || !strcmp(part, "quarter")) {
        const char *f = !strcmp(part, "month") ? "MONTH" : "QUARTER", *k = !strcmp(part, "month") ? "12" : "4";
        s = acat(t, "CAST((", yb, " - ", ya, ") * ", k, " + EXTRACT(", f, " FROM ", b.s, ") - EXTRACT(", f, " FROM ",
                 a.s, ") AS integer)", NULL);
    } else if (!strcmp(part, "day") || !strcmp(part, "dayofyear")) {
        s = acat(t, "(CAST(", b.s, " AS date) - CAST(", a.s, " AS date))", NULL);
    } else if (!strcmp(part, "hour") || !strcmp(part, "minute") || !strcmp(part, "second")) {
        const char *div = !strcmp(part, "hour") ? "3600" : !strcmp(part, "minute") ? "60" : "1";
        s = acat(t, "CAST((EXTRACT(EPOCH FROM date_trunc('", part, "', CAST(", b.s,
                 " AS timestamp))) - EXTRACT(EPOCH FROM date_trunc('", part, "', CAST(", a.s, " AS timestamp)))) / ",
                 div, " AS integer)", NULL);
    } else {
        UNSUP("datediff %s is not translated", part);
    }
    return mkv(s, P_ATOM, C_INT, im);
}

static const char *style_format(long style, cls from) {
    bool d = from == C_DATE;
    switch (style) {
    case 23: return "YYYY-MM-DD";
    case 101: return "MM/DD/YYYY";
    case 102: return "YYYY.MM.DD";
    case 103: return "DD/MM/YYYY";
    case 104: return "DD.MM.YYYY";
    case 105: return "DD-MM-YYYY";
    case 110: return "MM-DD-YYYY";
    case 111: return "YYYY/MM/DD";
    case 112: return "YYYYMMDD";
    case 108: return d ? NULL : "HH24:MI:SS";
    case 120: return d ? "YYYY-MM-DD" : "YYYY-MM-DD HH24:MI:SS";
    case 121: return d ? "YYYY-MM-DD" : "YYYY-MM-DD HH24:MI:SS.MS";
    default: return NULL;
    }
}

/* CAST / CONVERT. */
static val tr_cast(tx *t, const node *e) {
    cls to;
    long len;
    const char *pgt = map_type(t, &e->ty, &to, &len);
    val x = tr(t, e->a[0]), r;
    const char *why;
    long style = e->has_style ? e->style : 0;
    r = mkv(NULL, P_ATOM, to, x.immut);
    r.len = len;
    if (x.c == C_NULL) return r.s = acat(t, "CAST(NULL AS ", pgt, ")", NULL), r;
    if (x.now && (to == C_DATE || to == C_TIME)) {
        r.s = to == C_DATE ? "CURRENT_DATE" : "LOCALTIME";
        r.immut = false;
        return r;
    }
    if (x.lit && (x.lit->k == E_STR || x.lit->k == E_NUM)) {
        if (is_timec(to) && x.lit->k == E_STR && style) {
            dorder o = (style == 101 || style == 110)                   ? ORD_MDY
                       : (style == 103 || style == 104 || style == 105) ? ORD_DMY
                       : (style == 23 || style == 102 || style == 111 || style == 112 || style == 120 || style == 121 ||
                          style == 126)
                           ? ORD_YMD
                           : (ORD_DMY + 10);
            const char *lit = (int)o <= ORD_YMD ? str_datetime(t, x.lit->s, to, o) : NULL;
            if (!lit) UNSUP("CONVERT of '%s' with style %ld is not translated", show(t, x.lit->s), style);
            return r.s = acat(t, "CAST(", quote_lit(t, lit), " AS ", pgt, ")", NULL), r;
        }
        if (!lit_as(t, &x, to, pgt, &r, &why)) UNSUP("CAST: %s", why);
        r.s = acat(t, "CAST(", r.s, " AS ", pgt, ")", NULL);
        r.prec = P_ATOM;
        r.c = to;
        r.len = len;
        r.lit = NULL;
        return r;
    }
    if (e->has_style && !(is_timec(x.c) && is_strc(to)) && style != 0 && !(is_numc(x.c) || x.c == C_BOOL))
        UNSUP("CONVERT style %ld is not translated", style);
    const char *s = NULL;
    bool im = x.immut;
    if (x.c == to || x.c == C_UNKNOWN || (is_strc(x.c) && is_strc(to))) {
        s = acat(t, "CAST(", x.s, " AS ", pgt, ")", NULL);
    } else if (is_numc(x.c) && is_numc(to)) {
        if (to == C_INT && x.c != C_INT)
            s = acat(t, "CAST(trunc(", x.s, ") AS ", pgt, ")", NULL); /* T-SQL truncates */
        else
            s = acat(t, "CAST(", x.s, " AS ", pgt, ")", NULL);
    } else if ((x.c == C_INT || x.c == C_NUM) && is_strc(to)) {
        s = acat(t, "CAST(", x.s, " AS ", pgt, ")", NULL);
    } else if (x.c == C_BOOL && x.c != to && (is_numc(to))) {
        s = acat(t, "CAST(CAST(", x.s, " AS integer) AS ", pgt, ")", NULL);
    } else if (is_numc(x.c) && to == C_BOOL) {
        return mkv(acat(t, par(t, &x, P_CMP + 1), " <> 0", NULL), P_CMP, C_BOOL, x.immut);
    } else if (is_strc(x.c) && (is_numc(to) || to == C_UUID)) {
        s = acat(t, "CAST(", x.s, " AS ", pgt, ")", NULL);
    } else if (is_strc(x.c) && is_timec(to) && to != C_TSTZ && !e->has_style) {
        s = acat(t, "CAST(", x.s, " AS ", pgt, ")", NULL);
        im = false; /* DateStyle */
    } else if ((x.c == C_TS && (to == C_DATE || to == C_TIME)) || (x.c == C_DATE && to == C_TS)) {
        s = acat(t, "CAST(", x.s, " AS ", pgt, ")", NULL);
    } else if (x.c == C_TS && to == C_TSTZ) { /* datetime -> datetimeoffset: +00:00 */
        s = acat(t, "(", par(t, &x, P_UNARY), " AT TIME ZONE 'UTC')", NULL);
    } else if (is_timec(x.c) && is_strc(to)) {
        const char *f = NULL;
        if (x.c == C_DATE && !style)
            f = "YYYY-MM-DD";
        else if (x.c != C_TIME && x.c != C_TSTZ)
            f = style_format(style, x.c);
        if (!f) UNSUP("conversion of %s to text with style %ld is not translated", cls_name[x.c], style);
        s = acat(t, "CAST(to_char(", x.s, ", '", f, "') AS ", pgt, ")", NULL);
        im = false;
    } else if (x.c == C_UUID && is_strc(to)) {
        s = acat(t, "CAST(upper(CAST(", x.s, " AS text)) AS ", pgt, ")", NULL);
    } else {
        UNSUP("conversion of %s to %s is not translated", cls_name[x.c], e->ty.name);
    }
    r.s = s;
    r.immut = im;
    return r;
}

static val tr_func(tx *t, const node *e) {
    const char *f = e->s;
    if (e->qualified) UNSUP("user-defined function %s is not translated", show(t, f));
    size_t n = e->na;
    val a[3];
#define ARGS(lo, hi)                                                                                                   \
    do {                                                                                                               \
        nargs(t, e, lo, hi);                                                                                           \
        for (size_t i_ = 0; i_ < n && i_ < 3; i_++) a[i_] = tr(t, e->a[i_]);                                           \
    } while (0)
    /* the clock */
    if (!strcmp(f, "getdate") || !strcmp(f, "sysdatetime") || !strcmp(f, "current_timestamp")) {
        nargs(t, e, 0, 0);
        val v = mkv("LOCALTIMESTAMP", P_ATOM, C_TS, false);
        v.now = true;
        return v;
    }
    if (!strcmp(f, "getutcdate") || !strcmp(f, "sysutcdatetime")) {
        nargs(t, e, 0, 0);
        return mkv("(now() AT TIME ZONE 'utc')", P_ATOM, C_TS, false);
    }
    if (!strcmp(f, "sysdatetimeoffset")) {
        nargs(t, e, 0, 0);
        return mkv("CURRENT_TIMESTAMP", P_ATOM, C_TSTZ, false);
    }
    if (!strcmp(f, "newid") || !strcmp(f, "newsequentialid")) {
        nargs(t, e, 0, 0);
        return mkv("gen_random_uuid()", P_ATOM, C_UUID, false);
    }
    if (!strcmp(f, "user_name") || !strcmp(f, "suser_sname") || !strcmp(f, "suser_name")) {
        if (n) UNSUP("%s with an argument is not translated", f);
        return mkv(!strcmp(f, "user_name") ? "CURRENT_USER" : "SESSION_USER", P_ATOM, C_TEXT, false);
    }
    if (!strcmp(f, "db_name")) {
        nargs(t, e, 0, 0);
        return mkv("current_database()", P_ATOM, C_TEXT, false);
    }
    if (!strcmp(f, "app_name")) {
        nargs(t, e, 0, 0);
        return mkv("current_setting('application_name')", P_ATOM, C_TEXT, false);
    }
    /* NULL handling and choice */
    if (!strcmp(f, "isnull") || !strcmp(f, "coalesce") || !strcmp(f, "nullif")) {
        if (!strcmp(f, "coalesce")) {
            if (n < 2) UNSUP("coalesce needs at least 2 arguments");
        } else {
            nargs(t, e, 2, 2);
        }
        val first = tr(t, e->a[0]);
        const char *s = acat(t, !strcmp(f, "nullif") ? "NULLIF(" : "COALESCE(", first.s, NULL);
        bool im = first.immut;
        cls c = first.c;
        for (size_t i = 1; i < n; i++) {
            val x = tr(t, e->a[i]);
            val y = first;
            if (c == C_NULL) c = x.c, y = x;
            if (!strcmp(f, "isnull") && x.lit && x.lit->k != E_NULL && y.c != x.c) {
                /* ISNULL's result has the type of its first argument */
                val r;
                const char *why;
                if (!lit_as(t, &x, y.c, NULL, &r, &why)) UNSUP("isnull: %s", why);
                x = r;
            }
            const char *ys = y.s;
            cls yc = y.c, xc = x.c;
            unify(t, &y, &x, f, NULL);
            if (y.s != ys) UNSUP("%s mixing %s and %s is not translated", f, cls_name[yc], cls_name[xc]);
            s = acat(t, s, ", ", x.s, NULL);
            im = im && x.immut;
        }
        val r = mkv(acat(t, s, ")", NULL), P_ATOM, c, im);
        r.len = first.len;
        return r;
    }
    if (!strcmp(f, "iif")) {
        nargs(t, e, 3, 3);
        val c = tr(t, e->a[0]), x = tr(t, e->a[1]), y = tr(t, e->a[2]);
        if (c.c != C_BOOL) UNSUP("iif needs a condition");
        cls rc = x.c == C_NULL ? y.c : x.c;
        unify(t, &x, &y, "iif", NULL);
        return mkv(acat(t, "CASE WHEN ", c.s, " THEN ", x.s, " ELSE ", y.s, " END", NULL), P_ATOM, rc,
                   c.immut && x.immut && y.immut);
    }
    /* strings */
    if (!strcmp(f, "len")) {
        ARGS(1, 1);
        if (is_strc(a[0].c) || a[0].c == C_UNKNOWN || a[0].c == C_NULL)
            return mkv(acat(t, "length(rtrim(", a[0].s, "))", NULL), P_ATOM, C_INT, a[0].immut);
        if (a[0].c == C_INT) return mkv(acat(t, "length(CAST(", a[0].s, " AS text))", NULL), P_ATOM, C_INT, a[0].immut);
        UNSUP("len of a %s value is not translated", cls_name[a[0].c]);
    }
    if (!strcmp(f, "datalength")) {
        ARGS(1, 1);
        if (a[0].c == C_BYTEA) return mkv(acat(t, "octet_length(", a[0].s, ")", NULL), P_ATOM, C_INT, a[0].immut);
        UNSUP("datalength counts bytes of SQL Server's encoding; not translated for %s", cls_name[a[0].c]);
    }
    if (!strcmp(f, "upper") || !strcmp(f, "lower") || !strcmp(f, "ltrim") || !strcmp(f, "rtrim") ||
        !strcmp(f, "trim") || !strcmp(f, "reverse")) {
        ARGS(1, 1);
        if (!is_strc(a[0].c) && a[0].c != C_UNKNOWN && a[0].c != C_NULL)
            UNSUP("%s of a %s value is not translated", f, cls_name[a[0].c]);
        const char *pf = !strcmp(f, "trim") ? "btrim" : f;
        const char *arg = (!strcmp(f, "upper") || !strcmp(f, "lower") || !strcmp(f, "ltrim") || !strcmp(f, "reverse"))
                              ? padded(t, &a[0])
                              : a[0].s;
        return mkv(acat(t, pf, "(", arg, ")", NULL), P_ATOM, C_TEXT, a[0].immut);
    }
    if (!strcmp(f, "substring") || !strcmp(f, "left") || !strcmp(f, "right")) {
        bool sub = !strcmp(f, "substring");
        ARGS(sub ? 3 : 2, sub ? 3 : 2);
        if (!is_strc(a[0].c) && a[0].c != C_UNKNOWN && a[0].c != C_BYTEA)
            UNSUP("%s of a %s value is not translated", f, cls_name[a[0].c]);
        for (size_t i = 1; i < n; i++)
            if (a[i].c != C_INT && !(a[i].lit && a[i].lit->k == E_NUM && num_is_int(a[i].s)))
                UNSUP("%s with a non-integer position", f);
        if (!sub && a[0].c == C_BYTEA) UNSUP("%s of binary is not translated", f);
        if (!sub && a[1].lit && a[1].s[0] == '-') UNSUP("%s with a negative length (SQL Server rejects it)", f);
        const char *s = sub ? acat(t, "substr(", padded(t, &a[0]), ", ", a[1].s, ", ", a[2].s, ")", NULL)
                            : acat(t, f, "(", padded(t, &a[0]), ", ", a[1].s, ")", NULL);
        return mkv(s, P_ATOM, a[0].c == C_BYTEA ? C_BYTEA : C_TEXT, a[0].immut && a[1].immut && (!sub || a[2].immut));
    }
    if (!strcmp(f, "replace")) {
        ARGS(3, 3);
        for (int i = 0; i < 3; i++)
            if (!is_strc(a[i].c) && a[i].c != C_UNKNOWN)
                UNSUP("replace on a %s value is not translated", cls_name[a[i].c]);
        if (!t->cx->case_sensitive && (!a[1].lit || has_letters(a[1].lit->s)))
            UNSUP("replace ignores case under the database collation; PostgreSQL's does not");
        return mkv(acat(t, "replace(", padded(t, &a[0]), ", ", a[1].s, ", ", a[2].s, ")", NULL), P_ATOM, C_TEXT,
                   a[0].immut && a[1].immut && a[2].immut);
    }
    if (!strcmp(f, "charindex")) {
        ARGS(2, 3);
        if (n == 3) UNSUP("charindex with a start position is not translated");
        for (int i = 0; i < 2; i++)
            if (!is_strc(a[i].c) && a[i].c != C_UNKNOWN)
                UNSUP("charindex on a %s value is not translated", cls_name[a[i].c]);
        bool ci = !t->cx->case_sensitive && (!a[0].lit || has_letters(a[0].lit->s)) &&
                  (!a[1].lit || has_letters(a[1].lit->s));
        const char *s = ci ? acat(t, "strpos(lower(", padded(t, &a[1]), "), ", ci_side(t, &a[0]), ")", NULL)
                           : acat(t, "strpos(", padded(t, &a[1]), ", ", a[0].s, ")", NULL);
        return mkv(s, P_ATOM, C_INT, a[0].immut && a[1].immut);
    }
    if (!strcmp(f, "replicate") || !strcmp(f, "space")) {
        bool sp = !strcmp(f, "space");
        ARGS(sp ? 1 : 2, sp ? 1 : 2);
        val cnt = sp ? a[0] : a[1];
        if (cnt.c != C_INT && !(cnt.lit && cnt.lit->k == E_NUM && num_is_int(cnt.s)))
            UNSUP("%s with a non-integer count", f);
        if (!sp && !is_strc(a[0].c)) UNSUP("replicate of a %s value is not translated", cls_name[a[0].c]);
        return mkv(acat(t, "repeat(", sp ? "' '" : padded(t, &a[0]), ", ", cnt.s, ")", NULL), P_ATOM, C_TEXT,
                   cnt.immut && (sp || a[0].immut));
    }
    if (!strcmp(f, "concat")) {
        if (n < 2) UNSUP("concat needs at least 2 arguments");
        const char *s = NULL;
        bool im = true;
        for (size_t i = 0; i < n; i++) {
            val x = tr(t, e->a[i]);
            const char *piece;
            if (x.c == C_NULL) continue;
            if (x.lit && x.lit->k == E_STR)
                piece = x.s;
            else if (is_strc(x.c))
                piece = acat(t, "COALESCE(", padded(t, &x), ", '')", NULL);
            else if (x.c == C_INT || x.c == C_NUM)
                piece = acat(t, "COALESCE(CAST(", x.s, " AS text), '')", NULL);
            else
                UNSUP("concat of a %s value is not translated", cls_name[x.c]);
            s = s ? acat(t, s, " || ", piece, NULL) : piece;
            im = im && x.immut;
        }
        if (!s) s = "''";
        return mkv(s, P_OTHER, C_TEXT, im);
    }
    /* numbers */
    if (!strcmp(f, "abs") || !strcmp(f, "ceiling") || !strcmp(f, "floor") || !strcmp(f, "sign") || !strcmp(f, "sqrt") ||
        !strcmp(f, "exp") || !strcmp(f, "log10") || !strcmp(f, "square")) {
        ARGS(1, 1);
        if (!is_numc(a[0].c) && a[0].c != C_UNKNOWN) UNSUP("%s of a %s value is not translated", f, cls_name[a[0].c]);
        bool fl = !strcmp(f, "sqrt") || !strcmp(f, "exp") || !strcmp(f, "log10") || !strcmp(f, "square");
        const char *arg = fl ? acat(t, "CAST(", a[0].s, " AS double precision)", NULL) : a[0].s;
        const char *pf = !strcmp(f, "ceiling") ? "ceil" : !strcmp(f, "log10") ? "log" : f;
        if (!strcmp(f, "square")) return mkv(acat(t, "power(", arg, ", 2)", NULL), P_ATOM, C_FLOAT, a[0].immut);
        return mkv(acat(t, pf, "(", arg, ")", NULL), P_ATOM, fl ? C_FLOAT : a[0].c, a[0].immut);
    }
    if (!strcmp(f, "log")) {
        ARGS(1, 2);
        if (n == 2) UNSUP("log with a base is not translated");
        return mkv(acat(t, "ln(CAST(", a[0].s, " AS double precision))", NULL), P_ATOM, C_FLOAT, a[0].immut);
    }
    if (!strcmp(f, "power")) {
        ARGS(2, 2);
        if (!is_numc(a[0].c) || !is_numc(a[1].c)) UNSUP("power of non-numbers is not translated");
        if (a[0].c == C_INT) /* T-SQL: the type of the first argument */
            return mkv(acat(t, "CAST(trunc(power(", a[0].s, ", ", a[1].s, ")) AS bigint)", NULL), P_ATOM, C_INT,
                       a[0].immut && a[1].immut);
        return mkv(acat(t, "power(", a[0].s, ", ", a[1].s, ")", NULL), P_ATOM, a[0].c, a[0].immut && a[1].immut);
    }
    if (!strcmp(f, "round")) {
        ARGS(2, 3);
        if (!is_numc(a[0].c) && a[0].c != C_UNKNOWN) UNSUP("round of a %s value is not translated", cls_name[a[0].c]);
        if (a[1].c != C_INT) UNSUP("round with a non-integer length");
        bool trunc = n == 3 && !(a[2].lit && num_is_zero(a[2].s));
        if (n == 3 && !a[2].lit) UNSUP("round with a non-constant function argument");
        const char *fn = trunc ? "trunc(" : "round(";
        if (a[0].c == C_FLOAT)
            return mkv(acat(t, "CAST(", fn, "CAST(", a[0].s, " AS numeric), ", a[1].s, ") AS double precision)", NULL),
                       P_ATOM, C_FLOAT, a[0].immut && a[1].immut);
        return mkv(acat(t, fn, a[0].s, ", ", a[1].s, ")", NULL), P_ATOM, a[0].c, a[0].immut && a[1].immut);
    }
    if (!strcmp(f, "pi")) {
        nargs(t, e, 0, 0);
        return mkv("pi()", P_ATOM, C_FLOAT, true);
    }
    /* dates */
    if (!strcmp(f, "year") || !strcmp(f, "month") || !strcmp(f, "day")) {
        ARGS(1, 1);
        return tr_datepart(t, f, a[0]);
    }
    if (!strcmp(f, "datepart")) {
        nargs(t, e, 2, 2);
        const char *part = datepart_name(t, e->a[0]);
        return tr_datepart(t, part, tr(t, e->a[1]));
    }
    if (!strcmp(f, "dateadd")) return tr_dateadd(t, e);
    if (!strcmp(f, "datediff")) return tr_datediff(t, e);
    if (!strcmp(f, "format")) UNSUP("function FORMAT has no PostgreSQL equivalent (.NET format strings)");
    UNSUP("function %s has no PostgreSQL translation", show(t, f));
#undef ARGS
}

static val tr_col(tx *t, const node *e) {
    const b2p_tsql_context *cx = t->cx;
    if (cx->kind == B2P_TSQL_DEFAULT) UNSUP("a default cannot reference column %s", show(t, e->s));
    b2p_tsql_column col = {0};
    if (!cx->lookup || !cx->lookup(cx->lookup_ctx, e->s, &col) || !col.ident) UNSUP("unknown column %s", show(t, e->s));
    if (cx->kind == B2P_TSQL_COMPUTED && col.generated)
        UNSUP("computed column references computed column %s (PostgreSQL forbids it)", show(t, e->s));
    long len;
    val v = mkv(col.ident, P_ATOM, pg_class(col.pg_type, &len), true);
    v.len = len;
    return v;
}

static val tr_case(tx *t, const node *e) {
    size_t arms = (e->na - 2) / 2;
    const node *operand = e->a[0];
    val op = {0};
    if (operand) op = tr(t, operand);
    bool im = !operand || op.immut;
    val *res = aalloc(t, (arms + 1) * sizeof(val));
    const char **when = aalloc(t, (arms + 1) * sizeof(char *));
    cls rc = C_NULL;
    long rlen = -1;
    for (size_t i = 0; i < arms; i++) {
        val w = tr(t, e->a[1 + 2 * i]);
        if (operand)
            w = tr_cmp(t, e, "=", op, w); /* simple CASE: x = v, with T-SQL's comparison */
        else if (w.c != C_BOOL)
            UNSUP("CASE WHEN needs a condition");
        when[i] = w.s;
        res[i] = tr(t, e->a[2 + 2 * i]);
        im = im && w.immut;
    }
    const node *els = e->a[e->na - 1];
    res[arms] = els ? tr(t, els) : mkv("NULL", P_ATOM, C_NULL, true);
    /* the result class: the first non-literal result, else the first literal */
    for (size_t i = 0; i <= arms && rc == C_NULL; i++)
        if (res[i].c != C_NULL && !res[i].lit) rc = res[i].c, rlen = res[i].len;
    for (size_t i = 0; i <= arms && rc == C_NULL; i++)
        if (res[i].c != C_NULL) rc = res[i].c;
    for (size_t i = 0; i <= arms; i++) {
        if (res[i].c == C_NULL || res[i].c == rc || (is_numc(res[i].c) && is_numc(rc)) ||
            (is_strc(res[i].c) && is_strc(rc)) || rc == C_UNKNOWN || res[i].c == C_UNKNOWN)
            continue;
        val r;
        const char *why;
        if (res[i].lit && !(is_strc(rc) && res[i].lit->k == E_NUM) && lit_as(t, &res[i], rc, NULL, &r, &why)) {
            res[i] = r;
            continue;
        }
        UNSUP("CASE mixes %s and %s results", cls_name[rc], cls_name[res[i].c]);
    }
    const char *s = "CASE";
    for (size_t i = 0; i < arms; i++) s = acat(t, s, " WHEN ", when[i], " THEN ", res[i].s, NULL);
    if (els) s = acat(t, s, " ELSE ", res[arms].s, NULL);
    for (size_t i = 0; i <= arms; i++) im = im && res[i].immut;
    val r = mkv(acat(t, s, " END", NULL), P_ATOM, rc, im);
    r.len = rlen;
    return r;
}

static val tr(tx *t, const node *e) {
    if (++t->depth > MAX_TR_DEPTH) UNSUP("expression nested deeper than %d levels", MAX_TR_DEPTH);
    val v, a, b;
    switch (e->k) {
    case E_NUM:
        /* the text stays the number as written (lit_as reads it); PostgreSQL reads 1e5 as
         * numeric, which holds the same value */
        v = mkv(e->s, P_ATOM, strpbrk(e->s, "eE") ? C_FLOAT : strchr(e->s, '.') ? C_NUM : C_INT, true);
        if (v.c == C_INT && strlen(e->s) > 18) v.c = C_NUM;
        v.lit = e;
        break;
    case E_STR:
        v = mkv(quote_lit(t, e->s), P_ATOM, C_TEXT, true);
        v.lit = e;
        break;
    case E_BIN: {
        size_t n = strlen(e->s);
        v = mkv(acat(t, "'\\x", n % 2 ? "0" : "", lower_dup(t, e->s), "'::bytea", NULL), P_ATOM, C_BYTEA, true);
        v.lit = e;
        break;
    }
    case E_NULL:
        v = mkv("NULL", P_ATOM, C_NULL, true);
        v.lit = e;
        break;
    case E_COL: v = tr_col(t, e); break;
    case E_NILADIC:
        if (!strcmp(e->s, "current_timestamp")) {
            v = mkv("LOCALTIMESTAMP", P_ATOM, C_TS, false);
            v.now = true;
        } else if (!strcmp(e->s, "current_date")) {
            v = mkv("CURRENT_DATE", P_ATOM, C_DATE, false);
        } else if (!strcmp(e->s, "current_user") || !strcmp(e->s, "user")) {
            v = mkv("CURRENT_USER", P_ATOM, C_TEXT, false);
        } else {
            v = mkv("SESSION_USER", P_ATOM, C_TEXT, false);
        }
        break;
    case E_FUNC: v = tr_func(t, e); break;
    case E_NEG:
    case E_POS:
    case E_BITNOT:
        a = tr(t, e->a[0]);
        if (e->k == E_POS) {
            v = a;
            break;
        }
        a = to_int_if_bool(t, a);
        if (e->k == E_BITNOT && a.c != C_INT) UNSUP("~ on a %s value is not translated", cls_name[a.c]);
        if (!is_numc(a.c) && a.c != C_UNKNOWN && a.c != C_NULL) UNSUP("unary minus on a %s value", cls_name[a.c]);
        if (e->k == E_NEG && a.lit && a.lit->k == E_NUM && a.s[0] != '-') { /* a negative literal */
            v = a;
            v.s = acat(t, "-", a.s, NULL);
            v.prec = P_UNARY;
            break;
        }
        v = mkv(acat(t, e->k == E_NEG ? "-" : "~",
                     a.prec < P_UNARY || a.s[0] == '-' ? acat(t, "(", a.s, ")", NULL) : a.s, NULL),
                P_UNARY, a.c, a.immut);
        break;
    case E_ARITH: v = tr_arith(t, e); break;
    case E_NOT:
        a = tr(t, e->a[0]);
        if (a.c != C_BOOL) UNSUP("NOT of a non-condition");
        v = mkv(acat(t, "NOT ", par(t, &a, P_NOT), NULL), P_NOT, C_BOOL, a.immut);
        break;
    case E_AND:
    case E_OR: {
        int p = e->k == E_AND ? P_AND : P_OR;
        a = tr(t, e->a[0]);
        b = tr(t, e->a[1]);
        if (a.c != C_BOOL || b.c != C_BOOL) UNSUP("%s of a non-condition", e->s);
        v = mkv(acat(t, par(t, &a, p), " ", e->s, " ", par(t, &b, p), NULL), p, C_BOOL, a.immut && b.immut);
        break;
    }
    case E_CMP: v = tr_cmp(t, e, e->s, tr(t, e->a[0]), tr(t, e->a[1])); break;
    case E_ISNULL:
        a = tr(t, e->a[0]);
        v = mkv(acat(t, par(t, &a, P_IS + 1), e->neg ? " IS NOT NULL" : " IS NULL", NULL), P_IS, C_BOOL, a.immut);
        break;
    case E_LIKE: v = tr_like(t, e); break;
    case E_IN: {
        val x = tr(t, e->a[0]);
        bool anyci = false, im = x.immut;
        val *items = aalloc(t, e->na * sizeof(val));
        for (size_t i = 1; i < e->na; i++) {
            val xx = x;
            bool ci;
            items[i] = tr(t, e->a[i]);
            unify(t, &xx, &items[i], "IN list", &ci);
            if (xx.s != x.s) UNSUP("IN list mixing types is not translated");
            anyci = anyci || ci;
            im = im && items[i].immut;
        }
        const char *s = anyci ? acat(t, "lower(", x.s, ")", NULL) : par(t, &x, P_LIKE + 1);
        s = acat(t, s, e->neg ? " NOT IN (" : " IN (", NULL);
        for (size_t i = 1; i < e->na; i++)
            s = acat(t, s, i > 1 ? ", " : "", anyci ? ci_side(t, &items[i]) : items[i].s, NULL);
        v = mkv(acat(t, s, ")", NULL), P_LIKE, C_BOOL, im);
        break;
    }
    case E_BETWEEN: {
        val x = tr(t, e->a[0]), lo = tr(t, e->a[1]), hi = tr(t, e->a[2]);
        val x1 = x, x2 = x;
        bool c1, c2;
        unify(t, &x1, &lo, "BETWEEN", &c1);
        unify(t, &x2, &hi, "BETWEEN", &c2);
        if (c1 || c2 || x1.s != x.s || x2.s != x.s) {
            /* spelled out as two comparisons */
            val l = tr_cmp(t, e, ">=", x, tr(t, e->a[1])), h = tr_cmp(t, e, "<=", x, tr(t, e->a[2]));
            v = mkv(acat(t, l.s, " AND ", h.s, NULL), P_AND, C_BOOL, l.immut && h.immut);
            if (e->neg) v = mkv(acat(t, "NOT (", v.s, ")", NULL), P_NOT, C_BOOL, v.immut);
            break;
        }
        v = mkv(acat(t, par(t, &x, P_LIKE + 1), e->neg ? " NOT BETWEEN " : " BETWEEN ", par(t, &lo, P_LIKE + 1),
                     " AND ", par(t, &hi, P_LIKE + 1), NULL),
                P_LIKE, C_BOOL, x.immut && lo.immut && hi.immut);
        break;
    }
    case E_CASE: v = tr_case(t, e); break;
    case E_CAST: v = tr_cast(t, e); break;
    default: fail(t, B2P_ERR_INTERNAL, "unknown node %d", (int)e->k);
    }
    t->depth--;
    return v;
}

/* The result as a value of the target column's type (defaults and computed columns). */
static val to_target(tx *t, val v) {
    long tlen;
    cls tc = pg_class(t->cx->target_type, &tlen);
    const char *tt = t->cx->target_type, *why;
    val r;
    if (tc == C_UNKNOWN || tc == C_OTHER || v.c == C_NULL) return v;
    if (v.lit && v.lit->k != E_NULL) {
        /* the literal with its sign folded in */
        if (!lit_as(t, &v, tc, tt, &r, &why)) UNSUP("%s", why);
        return r;
    }
    if (v.c == tc || (is_strc(v.c) && is_strc(tc)) || v.c == C_UNKNOWN) return v;
    if (v.now) {
        if (tc == C_DATE) return mkv("CURRENT_DATE", P_ATOM, C_DATE, false);
        if (tc == C_TIME) return mkv("LOCALTIME", P_ATOM, C_TIME, false);
    }
    switch (tc) {
    case C_BOOL:
        if (is_numc(v.c)) return mkv(acat(t, par(t, &v, P_CMP + 1), " <> 0", NULL), P_CMP, C_BOOL, v.immut);
        break;
    case C_INT:
        if (v.c == C_NUM || v.c == C_FLOAT) return mkv(acat(t, "trunc(", v.s, ")", NULL), P_ATOM, C_NUM, v.immut);
        /* fall through */
    case C_NUM:
    case C_FLOAT:
        if (is_numc(v.c)) return v;
        if (v.c == C_BOOL) return mkv(acat(t, "CAST(", v.s, " AS integer)", NULL), P_ATOM, C_INT, v.immut);
        if (is_strc(v.c)) return mkv(acat(t, "CAST(", v.s, " AS ", tt, ")", NULL), P_ATOM, tc, v.immut);
        break;
    case C_TEXT:
    case C_CHAR:
        if (v.c == C_INT || v.c == C_NUM) return v; /* assignment cast, same digits as T-SQL */
        if (v.c == C_UUID) return mkv(acat(t, "upper(CAST(", v.s, " AS text))", NULL), P_ATOM, C_TEXT, v.immut);
        break;
    case C_DATE:
        if (v.c == C_TS) return v; /* assignment cast truncates, as T-SQL does */
        break;
    case C_TS:
        if (v.c == C_DATE) return v;
        break;
    case C_TIME:
        if (v.c == C_TS) return mkv(acat(t, "CAST(", v.s, " AS time)", NULL), P_ATOM, C_TIME, v.immut);
        break;
    case C_TSTZ:
        if (v.c == C_TS || v.c == C_DATE) /* SQL Server gives it the offset +00:00 */
            return mkv(acat(t, "(", par(t, &v, P_UNARY), " AT TIME ZONE 'UTC')", NULL), P_ATOM, C_TSTZ, v.immut);
        break;
    case C_UUID:
        if (is_strc(v.c)) return mkv(acat(t, "CAST(", v.s, " AS uuid)", NULL), P_ATOM, C_UUID, v.immut);
        break;
    default: break;
    }
    UNSUP("an expression of type %s for a %s column is not translated", cls_name[v.c], show(t, tt));
}

/* Everything that can fail: lex, parse, translate, coerce, append. setjmp lives here, apart
 * from the tx object (which belongs to the caller's frame), so that nothing the longjmp
 * returns to is a local modified after setjmp. */
static b2p_status run(tx *t, b2p_buf *out) {
    if (setjmp(t->jb) != 0) return t->st;
    const b2p_tsql_context *cx = t->cx;
    lex(t);
    if (t->toks[0].k == T_EOF) fail(t, B2P_ERR_CORRUPT, "empty expression");
    node *e = parse_expr(t);
    if (peek(t)->k != T_EOF)
        fail(t, B2P_ERR_CORRUPT, "unexpected %s at offset %zu", tok_desc(t, peek(t)), peek(t)->off);
    val v = tr(t, e);
    if (cx->kind == B2P_TSQL_CHECK) {
        if (v.c != C_BOOL) UNSUP("a check constraint must be a condition");
    } else {
        v = to_target(t, v);
        if (cx->kind == B2P_TSQL_COMPUTED && !v.immut)
            UNSUP("generated columns need an immutable expression; %s is not", show(t, v.s));
        /* DEFAULT takes PostgreSQL's b_expr: no AND/OR/NOT/IS/LIKE/IN/BETWEEN unparenthesized */
        if (cx->kind == B2P_TSQL_DEFAULT && v.prec <= P_LIKE) v.s = acat(t, "(", v.s, ")", NULL);
    }
    b2p_error err;
    if (b2p_buf_puts(out, v.s, &err) != B2P_OK) fail(t, B2P_ERR_NOMEM, "out of memory");
    return B2P_OK;
}

b2p_status b2p_tsql_translate(const b2p_tsql_context *cx, const char *tsql, b2p_buf *out, char *why, size_t whylen) {
    if (whylen) why[0] = '\0';
    if (!cx || !tsql || !out) {
        if (whylen) snprintf(why, whylen, "b2p_tsql_translate: missing argument");
        return B2P_ERR_INTERNAL;
    }
    if (strnlen(tsql, MAX_INPUT + 1) > MAX_INPUT) {
        if (whylen) snprintf(why, whylen, "expression longer than %d bytes", MAX_INPUT);
        return B2P_ERR_UNSUPPORTED;
    }
    tx t;
    memset(&t, 0, sizeof t);
    t.cx = cx;
    t.src = tsql;
    b2p_status st = run(&t, out);
    if (st != B2P_OK && whylen) snprintf(why, whylen, "%s", t.why);
    while (t.arena) {
        ablock *b = t.arena;
        t.arena = b->next;
        free(b);
    }
    return st;
}
