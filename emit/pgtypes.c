/* The SQL Server -> PostgreSQL type mapping (README.md "Type mapping"). The rendering of each
 * value under it is pages/value.c's; this file only names the PostgreSQL types. */
#include <stdio.h>

#include "emit.h"

static int min6(int scale) {
    return scale > 6 ? 6 : scale; /* PostgreSQL keeps at most microseconds */
}

const char *b2p_pg_type(const b2p_cat_column *c, char *buf, size_t len) {
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
