/* SQL quoting: the one place where a name or a text becomes part of a statement (see base.h).
 * A backup's names and texts are hostile: whatever they hold, what this writes is one
 * identifier or one literal, never the end of one and the start of other SQL. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

/* PostgreSQL 15 keywords that cannot stand unquoted as a table or column name everywhere
 * (reserved, type/function-name and column-name categories of its keyword list). */
static const char *const keywords[] = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
    "between", "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character",
    "check", "coalesce", "collate", "collation", "column", "concurrently", "constraint", "create",
    "cross", "current_catalog", "current_date", "current_role", "current_schema", "current_time",
    "current_timestamp", "current_user", "dec", "decimal", "default", "deferrable", "desc",
    "distinct", "do", "else", "end", "except", "exists", "extract", "false", "fetch", "float",
    "for", "foreign", "freeze", "from", "full", "grant", "greatest", "group", "grouping", "having",
    "ilike", "in", "initially", "inner", "inout", "int", "integer", "intersect", "interval", "into",
    "is", "isnull", "join", "lateral", "leading", "least", "left", "like", "limit", "localtime",
    "localtimestamp", "national", "natural", "nchar", "none", "normalize", "not", "notnull", "null",
    "nullif", "numeric", "offset", "on", "only", "or", "order", "out", "outer", "overlaps",
    "overlay", "placing", "position", "precision", "primary", "real", "references", "returning",
    "right", "row", "select", "session_user", "setof", "similar", "smallint", "some", "substring",
    "symmetric", "table", "tablesample", "then", "time", "timestamp", "to", "trailing", "treat",
    "trim", "true", "union", "unique", "user", "using", "values", "varchar", "variadic", "verbose",
    "when", "where", "window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists",
    "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable",
};

static bool is_keyword(const char *s) {
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (!strcmp(s, keywords[i])) return true;
    return false;
}

/* Whether PostgreSQL reads s unquoted as exactly s: lower-case letters, digits, _ and $ (not
 * first), bytes of non-ASCII characters, and not a keyword. */
static bool needs_quotes(const char *s) {
    if (!*s || (!islower((unsigned char)s[0]) && s[0] != '_' && !((unsigned char)s[0] & 0x80))) return true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!islower(*p) && !isdigit(*p) && *p != '_' && *p != '$' && !(*p & 0x80)) return true;
    return is_keyword(s);
}

b2p_status b2p_quote_ident(const char *name, b2p_buf *out, b2p_error *err) {
    if (!needs_quotes(name)) return b2p_buf_puts(out, name, err);
    b2p_status st = b2p_buf_append(out, "\"", 1, err);
    for (const char *p = name; *p && !st; p++)
        st = *p == '"' ? b2p_buf_append(out, "\"\"", 2, err) : b2p_buf_append(out, p, 1, err);
    return st ? st : b2p_buf_append(out, "\"", 1, err);
}

b2p_status b2p_quote_literal(const char *s, b2p_buf *out, b2p_error *err) {
    /* E'' means the same whatever standard_conforming_strings says; a plain '' only under on */
    bool backslash = strchr(s, '\\') != NULL;
    b2p_status st = b2p_buf_puts(out, backslash ? "E'" : "'", err);
    for (const char *p = s; *p && !st; p++) {
        size_t run = strcspn(p, "'\\");
        if (run) st = b2p_buf_append(out, p, run, err);
        p += run;
        if (!*p || st) break;
        st = b2p_buf_append(out, *p == '\'' ? "''" : "\\\\", 2, err);
    }
    return st ? st : b2p_buf_puts(out, "'", err);
}

/* Whether tag closes "<tag>body<tag>" only at the end: it must not occur in body, nor begin in
 * body's last bytes and end in the closing tag (body "x$b2p" would close at "$b2p$b2p$"). */
static bool tag_fits(const char *body, const char *tag) {
    size_t n = strlen(body), t = strlen(tag);
    if (strstr(body, tag)) return false;
    for (size_t k = 1; k < t && k <= n; k++)
        if (!memcmp(body + n - k, tag, k) && !memcmp(tag + k, tag, t - k)) return false;
    return true;
}

b2p_status b2p_quote_dollar(const char *body, b2p_buf *out, b2p_error *err) {
    char tag[32] = "$b2p$";
    for (unsigned n = 1; !tag_fits(body, tag); n++) snprintf(tag, sizeof tag, "$b2p%u$", n);
    b2p_status st = b2p_buf_puts(out, tag, err);
    if (!st) st = b2p_buf_puts(out, body, err);
    return st ? st : b2p_buf_puts(out, tag, err);
}
