/* The SQL Server -> PostgreSQL type mapping (README.md "Type mapping"), and the per-column
 * overrides a user gives with --cast. The rendering of each value under it is pages/value.c's
 * (a cast column's by emit/export.c); this file only names the PostgreSQL types. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "emit.h"

static int min6(int scale) {
    return scale > 6 ? 6 : scale; /* PostgreSQL keeps at most microseconds */
}

const char *b2p_pg_type(const b2p_cat_column *c, char *buf, size_t len) {
    if (c->cast) return c->cast;
    return b2p_pg_mapped_type(c, buf, len);
}

const char *b2p_pg_mapped_type(const b2p_cat_column *c, char *buf, size_t len) {
    switch (c->xtype) {
    case B2P_XT_BIT: return "boolean";
    case B2P_XT_TINYINT: case B2P_XT_SMALLINT: return "smallint";
    case B2P_XT_INT: return "integer";
    case B2P_XT_BIGINT: return "bigint";
    case B2P_XT_DECIMAL: case B2P_XT_NUMERIC:
        snprintf(buf, len, "numeric(%u,%u)", c->precision, c->scale);
        return buf;
    case B2P_XT_MONEY: return "numeric(19,4)";
    case B2P_XT_SMALLMONEY: return "numeric(10,4)";
    case B2P_XT_FLOAT: return "double precision";
    case B2P_XT_REAL: return "real";
    case B2P_XT_DATE: return "date";
    case B2P_XT_DATETIME: return "timestamp(3)";
    case B2P_XT_SMALLDATETIME: return "timestamp(0)";
    case B2P_XT_DATETIME2: snprintf(buf, len, "timestamp(%d)", min6(c->scale)); return buf;
    case B2P_XT_TIME: snprintf(buf, len, "time(%d)", min6(c->scale)); return buf;
    case B2P_XT_DATETIMEOFFSET: snprintf(buf, len, "timestamptz(%d)", min6(c->scale)); return buf;
    case B2P_XT_CHAR: snprintf(buf, len, "char(%d)", c->max_length > 0 ? c->max_length : 1); return buf;
    case B2P_XT_NCHAR: snprintf(buf, len, "char(%d)", c->max_length > 0 ? c->max_length / 2 : 1); return buf;
    case B2P_XT_VARCHAR: case B2P_XT_NVARCHAR: case B2P_XT_TEXT: case B2P_XT_NTEXT: return "text";
    case B2P_XT_BINARY: case B2P_XT_VARBINARY: case B2P_XT_IMAGE: case B2P_XT_TIMESTAMP: return "bytea";
    case B2P_XT_UNIQUEIDENTIFIER: return "uuid";
    case B2P_XT_XML: return "xml";
    case B2P_XT_SQL_VARIANT: return "text";
    case B2P_XT_CLR: return c->user_type_id == B2P_UT_HIERARCHYID ? "text" : "bytea";
    default: return "text";
    }
}

/* Columns whose stored value is a string of bytes (code-page text, UTF-16LE text, binary): their
 * bytes can be delivered as they are. */
static bool stored_as_bytes(const b2p_cat_column *c) {
    switch (c->xtype) {
    case B2P_XT_CHAR: case B2P_XT_VARCHAR: case B2P_XT_TEXT:
    case B2P_XT_NCHAR: case B2P_XT_NVARCHAR: case B2P_XT_NTEXT:
    case B2P_XT_BINARY: case B2P_XT_VARBINARY: case B2P_XT_IMAGE:
        return true;
    default:
        return false;
    }
}

b2p_status b2p_cast_column(b2p_cat_column *c, const char *type, b2p_error *err) {
    if (strcasecmp(type, "bytea") != 0)
        return b2p_fail(err, B2P_ERR_USAGE, "type '%s' is not one --cast supports (bytea)", type);
    if (c->is_computed)
        return b2p_fail(err, B2P_ERR_USAGE, "column %s is computed: it has no stored bytes to keep", c->name);
    if (!stored_as_bytes(c))
        return b2p_fail(err, B2P_ERR_USAGE,
                        "column %s is %s: only character and binary columns can be cast to bytea", c->name,
                        c->type_name ? c->type_name : "?");
    c->cast = "bytea";
    return B2P_OK;
}

bool b2p_cast_is_bytes(const b2p_cat_column *c) {
    return c->cast && !strcmp(c->cast, "bytea");
}
