/* System type ids and their names (pages.md 6). */
#include <stddef.h>

#define B2P_CATALOG_INTERNAL
#include "cat_int.h"

typedef struct type_name {
    uint8_t xtype;
    const char *name;
} type_name;

static const type_name TYPES[] = {
    {34, "image"}, {35, "text"}, {36, "uniqueidentifier"}, {40, "date"}, {41, "time"},
    {42, "datetime2"}, {43, "datetimeoffset"}, {48, "tinyint"}, {52, "smallint"}, {56, "int"},
    {58, "smalldatetime"}, {59, "real"}, {60, "money"}, {61, "datetime"}, {62, "float"},
    {98, "sql_variant"}, {99, "ntext"}, {104, "bit"}, {106, "decimal"}, {108, "numeric"},
    {122, "smallmoney"}, {127, "bigint"}, {165, "varbinary"}, {167, "varchar"}, {173, "binary"},
    {175, "char"}, {189, "timestamp"}, {231, "nvarchar"}, {239, "nchar"}, {240, "clr"},
    {241, "xml"}, {243, "table type"}, {244, "json"},
};

const char *b2p_type_name(uint8_t xtype) {
    for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
        if (TYPES[i].xtype == xtype) return TYPES[i].name;
    return "?";
}

bool b2p_type_has_length(uint8_t xtype) {
    return xtype == 165 || xtype == 167 || xtype == 173 || xtype == 175 || xtype == 231 ||
           xtype == 239;
}

bool b2p_type_is_unicode(uint8_t xtype) { return xtype == 231 || xtype == 239 || xtype == 99; }

bool b2p_type_has_precision(uint8_t xtype) { return xtype == 106 || xtype == 108; }

bool b2p_type_has_scale_only(uint8_t xtype) { return xtype == 41 || xtype == 42 || xtype == 43; }
