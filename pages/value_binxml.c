/* pages/value_binxml.c: xml (MS-BINXML, SQL Server's binary XML) -> XML text.
 *
 * Format facts (pages.md 6 "xml", checked against Microsoft's own reader, dotnet/runtime
 * XmlSqlBinaryReader): header DF FF, version 1 or 2, u16 code page 1200. Integers are mb32
 * (7 bits a byte, low group first, high bit = more). Strings are an mb32 count of UTF-16
 * units, then UTF-16LE. Meta tokens may appear between any two tokens: NAME (F0, a string
 * appended to the name table, whose entry 0 is ""), QNAME (EF, three name refs: namespace,
 * prefix, local name; appended to the qname table, first entry 1), NMFLUSH (E9, reset both)
 * and EXTN (EA, mb32 length, skipped). A QNAME whose local name is 0 is a namespace
 * declaration attribute; its "prefix" string is then "xmlns" or "xmlns:p".
 *
 * Structure: ELEMENT (F8 qname) [ATTR (F6 qname, value token)... ENDATTRS (F5)] content
 * ENDELEM (F7). An element directly followed by ENDELEM is empty ("<a />"); one whose
 * content is a zero-length string is not ("<a></a>"). SQL Server may leave namespace
 * declarations implicit: a name whose prefix is not bound to its namespace in scope gets
 * an xmlns attribute, appended after the explicit ones (as Microsoft's reader does).
 *
 * Rendering follows what SQL Server shows for an xml value: "<a />" for empty elements;
 * in text &, <, > and CR are escaped (&amp; &lt; &gt; &#xD;); in attribute values also
 * " and TAB/LF (&quot; &#x9; &#xA;). No fixture holds xml, so this is unverified [G].
 *
 * Typed values (xml bound to a schema collection) are rendered for the integer, boolean,
 * uuid, char and binary (base64) tokens; the float, decimal, money and date/time tokens are
 * reported as B2P_ERR_UNSUPPORTED rather than guessed. */
#include "pages/value_int.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NEST 8
#define MAX_DEPTH 4096

typedef struct str {
    size_t off, len; /* in px.arena */
} str;

typedef struct qname {
    uint32_t ns, prefix, local; /* name-table refs */
    bool decl;                  /* a namespace declaration (local ref 0) */
    str decl_prefix;            /* for decl: the prefix it binds ("" for xmlns="...") */
} qname;

typedef struct tables {
    str *sym;
    uint32_t nsym, capsym;
    qname *qn;
    uint32_t nqn, capqn;
} tables;

typedef struct nsbind {
    str prefix, uri;
    int depth;
} nsbind;

typedef struct px {
    const uint8_t *p;
    size_t len, pos;
    b2p_value_ctx *cx;
    b2p_buf *out;
    b2p_error *err;
    b2p_buf arena;           /* every decoded name, as UTF-8; never shrinks */
    tables t;
    tables saved[MAX_NEST];  /* NEST: the outer document's tables */
    int nest;
    nsbind *ns;
    size_t nns, capns;
    str *names;              /* rendered element names by depth, for end tags */
    size_t capnames;
    int depth;
    bool open;               /* "<name ..." written, ">" not yet */
    bool empty_string_seen;  /* the open element's content so far is a zero-length string */
} px;

static b2p_status bad(px *x, const char *what) {
    return b2p_fail(x->err, B2P_ERR_CORRUPT, "xml value: %s at byte %zu", what, x->pos);
}

static const char *sp(const px *x, str s) { return x->arena.data ? x->arena.data + s.off : ""; }

static bool str_eq(const px *x, str a, str b) {
    return a.len == b.len && (a.len == 0 || memcmp(sp(x, a), sp(x, b), a.len) == 0);
}

static bool str_is(const px *x, str a, const char *lit) {
    size_t n = strlen(lit);
    return a.len == n && (n == 0 || memcmp(sp(x, a), lit, n) == 0);
}

/* ---- reading ------------------------------------------------------------------------------ */

static b2p_status byte_(px *x, uint8_t *b) {
    if (x->pos >= x->len) return bad(x, "unexpected end");
    *b = x->p[x->pos++];
    return B2P_OK;
}

static b2p_status mb32(px *x, uint32_t *v) {
    uint32_t r = 0;
    for (int i = 0; i < 5; i++) {
        uint8_t b = 0;
        b2p_status st = byte_(x, &b);
        if (st != B2P_OK) return st;
        if (i == 4 && b > 0x0F) return bad(x, "mb32 integer too large");
        r |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return B2P_OK;
        }
    }
    return bad(x, "mb32 integer too long");
}

/* A length-prefixed UTF-16 string, appended as UTF-8 to buf. */
static b2p_status text_to(px *x, b2p_buf *buf) {
    uint32_t n;
    b2p_status st = mb32(x, &n);
    if (st != B2P_OK) return st;
    if (n > (x->len - x->pos) / 2) return bad(x, "string runs past the end");
    unsigned keep = x->cx->flags;
    st = b2p_v_utf16_text(x->cx, x->p + x->pos, 2 * (size_t)n, 0, buf, x->err);
    x->cx->flags |= keep;
    x->pos += 2 * (size_t)n;
    return st;
}

static b2p_status text_str(px *x, str *s) {
    s->off = x->arena.len;
    b2p_status st = text_to(x, &x->arena);
    s->len = x->arena.len - s->off;
    return st;
}

/* ---- name tables ---------------------------------------------------------------------------- */

static b2p_status grow(void **arr, uint32_t *cap, size_t elem, b2p_error *err) {
    uint32_t nc = *cap ? *cap * 2 : 16;
    void *n = realloc(*arr, (size_t)nc * elem);
    if (!n) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory for xml name tables");
    *arr = n;
    *cap = nc;
    return B2P_OK;
}

static b2p_status tables_init(px *x, tables *t) {
    memset(t, 0, sizeof *t);
    b2p_status st = grow((void **)&t->sym, &t->capsym, sizeof *t->sym, x->err);
    if (st == B2P_OK) st = grow((void **)&t->qn, &t->capqn, sizeof *t->qn, x->err);
    t->nsym = 1; /* entry 0: the empty name */
    t->sym[0] = (str){0, 0};
    t->nqn = 1;  /* qname refs start at 1 */
    memset(&t->qn[0], 0, sizeof t->qn[0]);
    return st;
}

static void tables_free(tables *t) {
    free(t->sym);
    free(t->qn);
    memset(t, 0, sizeof *t);
}

static b2p_status add_name(px *x) {
    str s;
    b2p_status st = text_str(x, &s);
    if (st == B2P_OK && x->t.nsym == x->t.capsym) st = grow((void **)&x->t.sym, &x->t.capsym, sizeof *x->t.sym, x->err);
    if (st == B2P_OK) x->t.sym[x->t.nsym++] = s;
    return st;
}

static b2p_status name_ref(px *x, uint32_t *r) {
    b2p_status st = mb32(x, r);
    if (st == B2P_OK && *r >= x->t.nsym) return bad(x, "name reference out of range");
    return st;
}

static b2p_status add_qname(px *x) {
    qname q = {0};
    b2p_status st = name_ref(x, &q.ns);
    if (st == B2P_OK) st = name_ref(x, &q.prefix);
    if (st == B2P_OK) st = name_ref(x, &q.local);
    if (st != B2P_OK) return st;
    if (q.local == 0 && !(q.prefix == 0 && q.ns == 0)) {
        /* a namespace declaration: "xmlns" binds the default namespace, "xmlns:p" binds p */
        str pre = x->t.sym[q.prefix];
        if (pre.len < 5 || memcmp(sp(x, pre), "xmlns", 5) != 0 || (pre.len > 5 && (pre.len == 6 || sp(x, pre)[5] != ':')))
            return bad(x, "malformed namespace declaration name");
        q.decl = true;
        q.decl_prefix = pre.len > 5 ? (str){pre.off + 6, pre.len - 6} : (str){pre.off, 0};
    }
    if (x->t.nqn == x->t.capqn) st = grow((void **)&x->t.qn, &x->t.capqn, sizeof *x->t.qn, x->err);
    if (st == B2P_OK) x->t.qn[x->t.nqn++] = q;
    return st;
}

static b2p_status qname_ref(px *x, const qname **q) {
    uint32_t r;
    b2p_status st = mb32(x, &r);
    if (st != B2P_OK) return st;
    if (r == 0 || r >= x->t.nqn) return bad(x, "qname reference out of range");
    *q = &x->t.qn[r];
    return B2P_OK;
}

/* Reads meta tokens (NAME, QNAME, NMFLUSH, EXTN) until a real token; returns it (or -1 at
 * the end of the value). */
static b2p_status next_token(px *x, int *tok) {
    for (;;) {
        if (x->pos >= x->len) {
            *tok = -1;
            return B2P_OK;
        }
        uint8_t t = x->p[x->pos++];
        b2p_status st = B2P_OK;
        uint32_t n;
        switch (t) {
        case 0xF0: st = add_name(x); break;
        case 0xEF: st = add_qname(x); break;
        case 0xE9:
            x->t.nsym = 1;
            x->t.nqn = 1;
            break;
        case 0xEA:
            st = mb32(x, &n);
            if (st == B2P_OK && n > x->len - x->pos) st = bad(x, "extension runs past the end");
            if (st == B2P_OK) x->pos += n;
            break;
        default:
            *tok = t;
            return B2P_OK;
        }
        if (st != B2P_OK) return st;
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

static b2p_status put(px *x, const char *s) { return b2p_buf_puts(x->out, s, x->err); }

/* Escapes UTF-8 text s[0..n) into out: text content or (attr) an attribute value. */
static b2p_status put_escaped(px *x, const char *s, size_t n, bool attr) {
    b2p_status st = B2P_OK;
    size_t run = 0;
    for (size_t i = 0; i < n && st == B2P_OK; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '\r': e = "&#xD;"; break;
        case '"': e = attr ? "&quot;" : NULL; break;
        case '\t': e = attr ? "&#x9;" : NULL; break;
        case '\n': e = attr ? "&#xA;" : NULL; break;
        default: break;
        }
        if (!e) {
            run++;
            continue;
        }
        st = b2p_buf_append(x->out, s + i - run, run, x->err);
        if (st == B2P_OK) st = put(x, e);
        run = 0;
    }
    if (st == B2P_OK) st = b2p_buf_append(x->out, s + n - run, run, x->err);
    return st;
}

/* "prefix:local" or "local" of a qname (for a declaration: "xmlns" / "xmlns:p"). */
static b2p_status put_qname(px *x, const qname *q) {
    str pre = x->t.sym[q->prefix], loc = x->t.sym[q->local];
    b2p_status st = b2p_buf_append(x->out, sp(x, pre), pre.len, x->err);
    if (q->decl) return st;
    if (st == B2P_OK && pre.len) st = b2p_v_putc(x->out, ':', x->err);
    if (st == B2P_OK) st = b2p_buf_append(x->out, sp(x, loc), loc.len, x->err);
    return st;
}

/* ---- namespace scope ------------------------------------------------------------------------ */

/* The URI bound to prefix in scope; the empty prefix is bound to "" initially. */
static bool ns_lookup(const px *x, str prefix, str *uri) {
    for (size_t i = x->nns; i-- > 0;)
        if (str_eq(x, x->ns[i].prefix, prefix)) {
            *uri = x->ns[i].uri;
            return true;
        }
    return false;
}

static b2p_status ns_push(px *x, str prefix, str uri) {
    if (x->nns == x->capns) {
        size_t nc = x->capns ? x->capns * 2 : 16;
        nsbind *n = realloc(x->ns, nc * sizeof *n);
        if (!n) return b2p_fail(x->err, B2P_ERR_NOMEM, "out of memory for xml namespaces");
        x->ns = n;
        x->capns = nc;
    }
    x->ns[x->nns++] = (nsbind){prefix, uri, x->depth};
    return B2P_OK;
}

/* Declares (prefix -> uri) on the open element unless it is already in scope. */
static b2p_status ensure_bound(px *x, str prefix, str uri) {
    if (str_is(x, prefix, "xml")) return B2P_OK;
    str cur;
    bool have = ns_lookup(x, prefix, &cur);
    if (have ? str_eq(x, cur, uri) : uri.len == 0) return B2P_OK;
    b2p_status st = put(x, prefix.len ? " xmlns:" : " xmlns");
    if (st == B2P_OK) st = b2p_buf_append(x->out, sp(x, prefix), prefix.len, x->err);
    if (st == B2P_OK) st = put(x, "=\"");
    if (st == B2P_OK) st = put_escaped(x, sp(x, uri), uri.len, true);
    if (st == B2P_OK) st = put(x, "\"");
    if (st == B2P_OK) st = ns_push(x, prefix, uri);
    return st;
}

/* ---- values --------------------------------------------------------------------------------- */

static bool is_value_token(int t) {
    return (t >= 0x01 && t <= 0x18) || t == 0x1B || (t >= 0x7A && t <= 0x7F) || (t >= 0x81 && t <= 0x8C);
}

static b2p_status take(px *x, size_t n, const uint8_t **p) {
    if (n > x->len - x->pos) return bad(x, "value runs past the end");
    *p = x->p + x->pos;
    x->pos += n;
    return B2P_OK;
}

static b2p_status base64(b2p_buf *out, const uint8_t *p, size_t n, b2p_error *err) {
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    b2p_status st = B2P_OK;
    for (size_t i = 0; i < n && st == B2P_OK; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {a[v >> 18], a[(v >> 12) & 63], i + 1 < n ? a[(v >> 6) & 63] : '=', i + 2 < n ? a[v & 63] : '='};
        st = b2p_buf_append(out, q, 4, err);
    }
    return st;
}

/* Renders one value token (already read: tok) as UTF-8 into buf, unescaped. */
static b2p_status value_text(px *x, int tok, b2p_buf *buf) {
    const uint8_t *v = NULL;
    uint32_t n = 0;
    b2p_status st;
    switch (tok) {
    case 0x11: case 0x0E: case 0x18: /* nvarchar, nchar, ntext */
        return text_to(x, buf);
    case 0x06: case 0x07: case 0x88: case 0x86: /* bit, tinyint, xsd:byte, xsd:boolean */
        st = take(x, 1, &v);
        if (st != B2P_OK) return st;
        if (tok == 0x86) return b2p_buf_puts(buf, v[0] ? "true" : "false", x->err);
        return b2p_v_printf(buf, x->err, "%d", tok == 0x88 ? (int)(int8_t)v[0] : (int)v[0]);
    case 0x01: case 0x89: /* smallint, xsd:unsignedShort */
        st = take(x, 2, &v);
        if (st != B2P_OK) return st;
        return b2p_v_printf(buf, x->err, "%ld", tok == 0x01 ? (long)(int16_t)b2p_le16(v) : (long)b2p_le16(v));
    case 0x02: case 0x8A: /* int, xsd:unsignedInt */
        st = take(x, 4, &v);
        if (st != B2P_OK) return st;
        return b2p_v_printf(buf, x->err, "%lld", tok == 0x02 ? (long long)(int32_t)b2p_le32(v) : (long long)b2p_le32(v));
    case 0x08: case 0x8B: /* bigint, xsd:unsignedLong */
        st = take(x, 8, &v);
        if (st != B2P_OK) return st;
        if (tok == 0x08) return b2p_v_printf(buf, x->err, "%lld", (long long)(int64_t)b2p_le64(v));
        return b2p_v_printf(buf, x->err, "%llu", (unsigned long long)b2p_le64(v));
    case 0x09: /* uuid: .NET Guid order, lowercase like Guid.ToString() */
        st = take(x, 16, &v);
        if (st != B2P_OK) return st;
        return b2p_v_printf(buf, x->err, "%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                            (unsigned long)b2p_le32(v), (unsigned)b2p_le16(v + 4), (unsigned)b2p_le16(v + 6), v[8], v[9],
                            v[10], v[11], v[12], v[13], v[14], v[15]);
    case 0x0D: case 0x10: case 0x16: { /* char, varchar, text: mb length, i32 code page, bytes */
        st = mb32(x, &n);
        if (st == B2P_OK) st = take(x, n, &v);
        if (st != B2P_OK) return st;
        if (n < 4) return bad(x, "char value without its code page");
        uint32_t cp = b2p_le32(v);
        /* b2p_v_codepage_text wants a collation; a SQL sort id of 52 (1252) or a UTF-8 id
         * would do, but any code page can appear here, so go through a matching id only
         * for 1252 and UTF-8 and refuse the rest rather than guess. */
        uint32_t coll = cp == 1252 ? 0x3400D008u : cp == 65001 ? 0x0004D508u : 0;
        if (!coll) return b2p_fail(x->err, B2P_ERR_UNSUPPORTED, "xml char value in code page %lu", (unsigned long)cp);
        unsigned keep = x->cx->flags;
        st = b2p_v_codepage_text(x->cx, coll, v + 4, n - 4, 0, buf, x->err);
        x->cx->flags |= keep;
        return st;
    }
    case 0x0C: case 0x0F: case 0x17: case 0x1B: case 0x85: /* binary types, udt, base64 */
        st = mb32(x, &n);
        if (st == B2P_OK) st = take(x, n, &v);
        if (st != B2P_OK) return st;
        return base64(buf, v, n, x->err);
    default:
        return b2p_fail(x->err, B2P_ERR_UNSUPPORTED, "xml typed value token 0x%02x is not rendered", tok);
    }
}

/* ---- structure -------------------------------------------------------------------------------- */

/* Closes the start tag of the open element (">"), first declaring any implied namespaces of
 * the element and of its attributes (collected in attrs). */
static b2p_status close_start(px *x) {
    if (!x->open) return B2P_OK;
    x->open = false;
    return put(x, ">");
}

static b2p_status finish_attrs(px *x, const qname *elem, const qname **attrs, size_t nattrs) {
    b2p_status st = ensure_bound(x, x->t.sym[elem->prefix], x->t.sym[elem->ns]);
    for (size_t i = 0; i < nattrs && st == B2P_OK; i++) {
        const qname *a = attrs[i];
        if (a->decl || x->t.sym[a->prefix].len == 0) continue; /* unprefixed: no namespace */
        st = ensure_bound(x, x->t.sym[a->prefix], x->t.sym[a->ns]);
    }
    return st;
}

static b2p_status push_name(px *x, const qname *q) {
    if (x->depth >= MAX_DEPTH) return bad(x, "elements nest too deeply");
    if ((size_t)x->depth >= x->capnames) {
        size_t nc = x->capnames ? x->capnames * 2 : 16;
        str *n = realloc(x->names, nc * sizeof *n);
        if (!n) return b2p_fail(x->err, B2P_ERR_NOMEM, "out of memory for xml elements");
        x->names = n;
        x->capnames = nc;
    }
    /* keep the rendered name: the tables may be flushed before the end tag. The source is
     * the arena itself, so reserve first and take pointers only afterwards. */
    str pre = x->t.sym[q->prefix], loc = x->t.sym[q->local];
    b2p_status st = b2p_buf_reserve(&x->arena, pre.len + 1 + loc.len, x->err);
    if (st != B2P_OK) return st;
    str s = {x->arena.len, 0};
    char *d = x->arena.data + x->arena.len;
    memcpy(d, x->arena.data + pre.off, pre.len);
    d += pre.len;
    if (pre.len) *d++ = ':';
    memcpy(d, x->arena.data + loc.off, loc.len);
    d += loc.len;
    s.len = (size_t)(d - (x->arena.data + s.off));
    x->arena.len += s.len;
    x->arena.data[x->arena.len] = '\0';
    x->names[x->depth++] = s;
    return B2P_OK;
}

static b2p_status element(px *x) {
    const qname *q;
    b2p_status st = close_start(x);
    if (st == B2P_OK) st = qname_ref(x, &q);
    if (st != B2P_OK) return st;
    qname elem = *q; /* copy: the table may grow (realloc) while attributes are read */
    st = put(x, "<");
    if (st == B2P_OK) st = put_qname(x, &elem);
    if (st == B2P_OK) st = push_name(x, &elem);
    const qname *attrs[64];
    qname attr_copy[64];
    size_t nattrs = 0;
    int tok;
    if (st == B2P_OK) st = next_token(x, &tok);
    bool in_attr = false;
    while (st == B2P_OK && (tok == 0xF6 || (in_attr && is_value_token(tok)))) {
        if (tok == 0xF6) {
            if (in_attr) st = put(x, "\"");
            const qname *a;
            if (st == B2P_OK) st = qname_ref(x, &a);
            if (st != B2P_OK) break;
            if (nattrs == 64) return b2p_fail(x->err, B2P_ERR_UNSUPPORTED, "xml element with more than 64 attributes");
            attr_copy[nattrs] = *a;
            attrs[nattrs] = &attr_copy[nattrs];
            nattrs++;
            st = put(x, " ");
            if (st == B2P_OK) st = put_qname(x, a);
            if (st == B2P_OK) st = put(x, "=\"");
            in_attr = true;
        } else {
            b2p_buf v = {0};
            st = value_text(x, tok, &v);
            if (st == B2P_OK) st = put_escaped(x, v.data ? v.data : "", v.len, true);
            /* a namespace declaration binds its prefix on this element */
            const qname *last = attrs[nattrs - 1];
            if (st == B2P_OK && last->decl) {
                str uri = {x->arena.len, v.len};
                st = b2p_buf_append(&x->arena, v.data ? v.data : "", v.len, x->err);
                if (st == B2P_OK) st = ns_push(x, last->decl_prefix, uri);
            }
            b2p_buf_free(&v);
        }
        if (st == B2P_OK) st = next_token(x, &tok);
    }
    if (st != B2P_OK) return st;
    if (in_attr) st = put(x, "\"");
    if (st == B2P_OK) st = finish_attrs(x, &elem, attrs, nattrs);
    if (st != B2P_OK) return st;
    x->open = true;
    if (tok != 0xF5 && tok != -1) x->pos--; /* not ENDATTRS: leave it for the content loop */
    return B2P_OK;
}

static b2p_status end_element(px *x) {
    if (x->depth == 0) return bad(x, "end of element without a start");
    str name = x->names[--x->depth];
    b2p_status st;
    if (x->open) {
        x->open = false;
        st = put(x, " />");
    } else {
        st = put(x, "</");
        if (st == B2P_OK) st = b2p_buf_append(x->out, sp(x, name), name.len, x->err);
        if (st == B2P_OK) st = put(x, ">");
    }
    while (x->nns > 0 && x->ns[x->nns - 1].depth > x->depth) x->nns--;
    return st;
}

/* <!DOCTYPE name SYSTEM "s"> / PUBLIC "p" "s" / [subset] */
static b2p_status doctype(px *x) {
    b2p_buf tmp = {0};
    b2p_status st = put(x, "<!DOCTYPE ");
    if (st == B2P_OK) st = text_to(x, x->out);
    str sys = {0, 0}, pub = {0, 0};
    bool has_sys = false, has_pub = false;
    if (st == B2P_OK && x->pos < x->len && x->p[x->pos] == 0xFB) {
        x->pos++;
        has_sys = true;
        st = text_str(x, &sys);
    }
    if (st == B2P_OK && x->pos < x->len && x->p[x->pos] == 0xFA) {
        x->pos++;
        has_pub = true;
        st = text_str(x, &pub);
    }
    if (st == B2P_OK && has_pub) {
        st = put(x, " PUBLIC \"");
        if (st == B2P_OK) st = b2p_buf_append(x->out, sp(x, pub), pub.len, x->err);
        if (st == B2P_OK) st = put(x, has_sys ? "\" \"" : "\"");
    } else if (st == B2P_OK && has_sys) {
        st = put(x, " SYSTEM \"");
    }
    if (st == B2P_OK && has_sys) {
        st = b2p_buf_append(x->out, sp(x, sys), sys.len, x->err);
        if (st == B2P_OK) st = put(x, "\"");
    }
    if (st == B2P_OK && x->pos < x->len && x->p[x->pos] == 0xF9) {
        x->pos++;
        st = put(x, " [");
        if (st == B2P_OK) st = text_to(x, x->out);
        if (st == B2P_OK) st = put(x, "]");
    }
    if (st == B2P_OK) st = put(x, ">");
    b2p_buf_free(&tmp);
    return st;
}

static b2p_status xmldecl(px *x) {
    b2p_status st = put(x, "<?xml version=\"");
    if (st == B2P_OK) st = text_to(x, x->out);
    if (st == B2P_OK) st = put(x, "\"");
    if (st == B2P_OK && x->pos < x->len && x->p[x->pos] == 0xFD) {
        x->pos++;
        st = put(x, " encoding=\"");
        if (st == B2P_OK) st = text_to(x, x->out);
        if (st == B2P_OK) st = put(x, "\"");
    }
    uint8_t sa = 0;
    if (st == B2P_OK) st = byte_(x, &sa);
    if (st == B2P_OK && sa > 2) return bad(x, "invalid standalone byte");
    if (st == B2P_OK && sa) st = put(x, sa == 1 ? " standalone=\"yes\"" : " standalone=\"no\"");
    if (st == B2P_OK) st = put(x, "?>");
    return st;
}

static b2p_status content_token(px *x, int tok) {
    b2p_status st = B2P_OK;
    switch (tok) {
    case 0xF8: return element(x);
    case 0xF7: return end_element(x);
    case 0xF5: return B2P_OK; /* a stray ENDATTRS (no attributes) */
    case 0xFE: return xmldecl(x);
    case 0xFC: return doctype(x);
    case 0xF4: { /* PI: name ref, text */
        uint32_t r;
        st = close_start(x);
        if (st == B2P_OK) st = name_ref(x, &r);
        if (st == B2P_OK) st = put(x, "<?");
        if (st == B2P_OK) st = b2p_buf_append(x->out, sp(x, x->t.sym[r]), x->t.sym[r].len, x->err);
        b2p_buf v = {0};
        if (st == B2P_OK) st = text_to(x, &v);
        if (st == B2P_OK && v.len) st = put(x, " ");
        if (st == B2P_OK) st = b2p_buf_append(x->out, v.data ? v.data : "", v.len, x->err);
        b2p_buf_free(&v);
        return st == B2P_OK ? put(x, "?>") : st;
    }
    case 0xF3: /* comment */
        st = close_start(x);
        if (st == B2P_OK) st = put(x, "<!--");
        if (st == B2P_OK) st = text_to(x, x->out);
        return st == B2P_OK ? put(x, "-->") : st;
    case 0xF2: /* CDATA, possibly split over several tokens, then ENDCDATA */
        st = close_start(x);
        if (st == B2P_OK) st = put(x, "<![CDATA[");
        if (st == B2P_OK) st = text_to(x, x->out);
        while (st == B2P_OK && x->pos < x->len && x->p[x->pos] == 0xF2) {
            x->pos++;
            st = text_to(x, x->out);
        }
        if (st == B2P_OK && (x->pos >= x->len || x->p[x->pos] != 0xF1)) return bad(x, "CDATA without its end");
        x->pos++;
        return st == B2P_OK ? put(x, "]]>") : st;
    case 0xED: /* XMLTEXT: markup kept as text */
        st = close_start(x);
        return st == B2P_OK ? text_to(x, x->out) : st;
    case 0xEC: /* NEST: an embedded document with its own tables and header */
        if (x->nest == MAX_NEST) return bad(x, "xml documents nest too deeply");
        st = close_start(x);
        if (st != B2P_OK) return st;
        x->saved[x->nest++] = x->t;
        st = tables_init(x, &x->t);
        if (st == B2P_OK && (x->len - x->pos < 5 || x->p[x->pos] != 0xDF || x->p[x->pos + 1] != 0xFF ||
                             (x->p[x->pos + 2] != 1 && x->p[x->pos + 2] != 2) || b2p_le16(x->p + x->pos + 3) != 1200))
            return bad(x, "nested document without a binary xml header");
        x->pos += 5;
        return st;
    case 0xEB: /* ENDNEST */
        if (x->nest == 0) return bad(x, "end of a nested document that was not started");
        tables_free(&x->t);
        x->t = x->saved[--x->nest];
        return B2P_OK;
    default:
        if (!is_value_token(tok)) return bad(x, "unknown token");
        st = close_start(x);
        b2p_buf v = {0};
        if (st == B2P_OK) st = value_text(x, tok, &v);
        if (st == B2P_OK) st = put_escaped(x, v.data ? v.data : "", v.len, false);
        b2p_buf_free(&v);
        return st;
    }
}

b2p_status b2p_v_binxml(b2p_value_ctx *cx, b2p_buf *out, const uint8_t *p, size_t len,
                        b2p_error *err) {
    px x = {.p = p, .len = len, .cx = cx, .out = out, .err = err};
    if (len < 5 || p[0] != 0xDF || p[1] != 0xFF)
        return b2p_fail(err, B2P_ERR_CORRUPT, "xml value does not start with the binary xml signature DF FF");
    if (p[2] != 1 && p[2] != 2) return b2p_fail(err, B2P_ERR_UNSUPPORTED, "binary xml version %u", p[2]);
    if (b2p_le16(p + 3) != 1200)
        return b2p_fail(err, B2P_ERR_UNSUPPORTED, "binary xml code page %u (expected 1200)", (unsigned)b2p_le16(p + 3));
    x.pos = 5;
    b2p_status st = tables_init(&x, &x.t);
    int tok = 0;
    while (st == B2P_OK) {
        st = next_token(&x, &tok);
        if (st != B2P_OK || tok == -1) break;
        st = content_token(&x, tok);
    }
    if (st == B2P_OK && (x.depth != 0 || x.nest != 0)) st = bad(&x, "value ends inside an element");
    tables_free(&x.t);
    while (x.nest > 0) tables_free(&x.saved[--x.nest]);
    b2p_buf_free(&x.arena);
    free(x.ns);
    free(x.names);
    return st;
}
