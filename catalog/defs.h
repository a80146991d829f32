/* The base-table columns the catalog reads: declaration ordinal (sysrscols rscolid) of each
 * column and the type expected there. NB: the ordinals count variable-length columns at their
 * declared place (sysschobjs.name is column 2, syscolpars.name column 4), unlike the
 * "var 0 name" listing of pages.md 3.3; the record offsets there are right. Private to
 * catalog/. */
#ifndef B2P_CAT_DEFS_H
#define B2P_CAT_DEFS_H

#ifndef B2P_CATALOG_INTERNAL
#error "defs.h is private to catalog/"
#endif

#include "cat_int.h"

#define XT_TINYINT 48
#define XT_SMALLINT 52
#define XT_INT 56
#define XT_BIGINT 127
#define XT_CHAR 175
#define XT_NVARCHAR 231
#define XT_VARBINARY 165
#define XT_SQL_VARIANT 98

#define BT_DEF(nm, obj, arr) {nm, obj, arr, sizeof arr / sizeof *arr}

/* sysrowsetcolumns (4), SQL Server 2005 only: which hobt column (syshobtcolumns.colid) stores
 * which rowset column; rscolid is the table's column id, hbcolid the column's place in the
 * heap or index (clustered keys and the uniquifier first). */
enum { RC_RSID, RC_RSCOLID, RC_HBCOLID };
static const bt_field ROWSETCOLUMNS_FIELDS[] = {
    [RC_RSID] = {"rsid", 1, XT_BIGINT, false},
    [RC_RSCOLID] = {"rscolid", 2, XT_INT, false},
    [RC_HBCOLID] = {"hbcolid", 3, XT_INT, false},
};

/* sysseobjvalues (9), SQL Server 2012+: among others, the default of a column added online, which
 * rows written before the column existed take (valclass 1, id = rowset id, subid = the column's
 * place in the rowset, hbcolid). */
enum { SV_VALCLASS, SV_ID, SV_SUBID, SV_VALUE };
static const bt_field SEOBJVALUES_FIELDS[] = {
    [SV_VALCLASS] = {"valclass", 1, XT_TINYINT, false},
    [SV_ID] = {"id", 2, XT_BIGINT, false},
    [SV_SUBID] = {"subid", 3, XT_BIGINT, false},
    [SV_VALUE] = {"value", 5, XT_SQL_VARIANT, false},
};

/* sysrowsets (5) */
enum { RS_ROWSETID, RS_IDMAJOR, RS_IDMINOR, RS_NUMPART, RS_STATUS, RS_RCROWS, RS_CMPRLEVEL };
static const bt_field ROWSETS_FIELDS[] = {
    [RS_ROWSETID] = {"rowsetid", 1, XT_BIGINT, false},
    [RS_IDMAJOR] = {"idmajor", 3, XT_INT, false},
    [RS_IDMINOR] = {"idminor", 4, XT_INT, false},
    [RS_NUMPART] = {"numpart", 5, XT_INT, false},
    [RS_STATUS] = {"status", 6, XT_INT, false},
    [RS_RCROWS] = {"rcrows", 8, XT_BIGINT, false},
    [RS_CMPRLEVEL] = {"cmprlevel", 9, XT_TINYINT, true}, /* absent in 2005 */
};

/* sysschobjs (34) */
enum { SO_ID, SO_NSID, SO_NSCLASS, SO_STATUS, SO_TYPE, SO_PID, SO_PCLASS, SO_INTPROP, SO_NAME };
static const bt_field SCHOBJS_FIELDS[] = {
    [SO_ID] = {"id", 1, XT_INT, false},
    [SO_NSID] = {"nsid", 3, XT_INT, false},
    [SO_NSCLASS] = {"nsclass", 4, XT_TINYINT, false},
    [SO_STATUS] = {"status", 5, XT_INT, false},
    [SO_TYPE] = {"type", 6, XT_CHAR, false},
    [SO_PID] = {"pid", 7, XT_INT, false},
    [SO_PCLASS] = {"pclass", 8, XT_TINYINT, false},
    [SO_INTPROP] = {"intprop", 9, XT_INT, false},
    [SO_NAME] = {"name", 2, XT_NVARCHAR, false},
};

/* syscolpars (41) */
enum { CP_ID, CP_NUMBER, CP_COLID, CP_XTYPE, CP_UTYPE, CP_LENGTH, CP_PREC, CP_SCALE,
       CP_COLLATION, CP_STATUS, CP_DFLT, CP_CHK, CP_NAME, CP_IDTVAL };
static const bt_field COLPARS_FIELDS[] = {
    [CP_ID] = {"id", 1, XT_INT, false},
    [CP_NUMBER] = {"number", 2, XT_SMALLINT, false},
    [CP_COLID] = {"colid", 3, XT_INT, false},
    [CP_XTYPE] = {"xtype", 5, XT_TINYINT, false},
    [CP_UTYPE] = {"utype", 6, XT_INT, false},
    [CP_LENGTH] = {"length", 7, XT_SMALLINT, false},
    [CP_PREC] = {"prec", 8, XT_TINYINT, false},
    [CP_SCALE] = {"scale", 9, XT_TINYINT, false},
    [CP_COLLATION] = {"collationid", 10, XT_INT, false},
    [CP_STATUS] = {"status", 11, XT_INT, false},
    [CP_DFLT] = {"dflt", 14, XT_INT, false},
    [CP_CHK] = {"chk", 15, XT_INT, false},
    [CP_NAME] = {"name", 4, XT_NVARCHAR, false},
    [CP_IDTVAL] = {"idtval", 16, XT_VARBINARY, true},
};

/* sysclsobjs (64) */
enum { CL_CLASS, CL_ID, CL_NAME, CL_TYPE };
static const bt_field CLSOBJS_FIELDS[] = {
    [CL_CLASS] = {"class", 1, XT_TINYINT, false},
    [CL_ID] = {"id", 2, XT_INT, false},
    [CL_NAME] = {"name", 3, XT_NVARCHAR, false},
    [CL_TYPE] = {"type", 5, XT_CHAR, true}, /* PF, PS, FG, FD, FL, ... */
};

/* sysscalartypes (50) */
enum { ST_ID, ST_SCHID, ST_XTYPE, ST_LENGTH, ST_PREC, ST_SCALE, ST_NAME, ST_STATUS };
static const bt_field SCALARTYPES_FIELDS[] = {
    [ST_ID] = {"id", 1, XT_INT, false},
    [ST_SCHID] = {"schid", 2, XT_INT, false},
    [ST_XTYPE] = {"xtype", 4, XT_TINYINT, false},
    [ST_LENGTH] = {"length", 5, XT_SMALLINT, false},
    [ST_PREC] = {"prec", 6, XT_TINYINT, false},
    [ST_SCALE] = {"scale", 7, XT_TINYINT, false},
    [ST_NAME] = {"name", 3, XT_NVARCHAR, false},
    [ST_STATUS] = {"status", 9, XT_INT, true}, /* 0x1 NOT NULL */
};

/* sysxprops (49): extended properties; found on the fixtures (2005 to 2022): class 1, id 2,
 * subid 3, name 4, value 5 (sql_variant). */
enum { XP_CLASS, XP_ID, XP_SUBID, XP_NAME, XP_VALUE };
static const bt_field XPROPS_FIELDS[] = {
    [XP_CLASS] = {"class", 1, XT_TINYINT, false},
    [XP_ID] = {"id", 2, XT_INT, false},
    [XP_SUBID] = {"subid", 3, XT_INT, false},
    [XP_NAME] = {"name", 4, XT_NVARCHAR, false},
    [XP_VALUE] = {"value", 5, XT_SQL_VARIANT, false},
};

/* sysftinds (25): one row per full-text index; id (column 1) is the table. */
enum { FT_ID };
static const bt_field FTINDS_FIELDS[] = {
    [FT_ID] = {"id", 1, XT_INT, false},
};

/* sysidxstats (54) */
enum { IX_ID, IX_INDID, IX_STATUS, IX_TYPE, IX_ROWSET, IX_NAME };
static const bt_field IDXSTATS_FIELDS[] = {
    [IX_ID] = {"id", 1, XT_INT, false},
    [IX_INDID] = {"indid", 2, XT_INT, false},
    [IX_STATUS] = {"status", 4, XT_INT, false},
    [IX_TYPE] = {"type", 7, XT_TINYINT, false},
    [IX_ROWSET] = {"rowset", 11, XT_BIGINT, false},
    [IX_NAME] = {"name", 3, XT_NVARCHAR, false},
};

/* sysiscols (55) */
enum { IC_IDMAJOR, IC_IDMINOR, IC_SUBID, IC_STATUS, IC_INTPROP, IC_TINYPROP1 };
static const bt_field ISCOLS_FIELDS[] = {
    [IC_IDMAJOR] = {"idmajor", 1, XT_INT, false},
    [IC_IDMINOR] = {"idminor", 2, XT_INT, false},
    [IC_SUBID] = {"subid", 3, XT_INT, false},
    [IC_STATUS] = {"status", 4, XT_INT, false},
    [IC_INTPROP] = {"intprop", 5, XT_INT, false},
    [IC_TINYPROP1] = {"tinyprop1", 6, XT_TINYINT, false},
};

/* sysobjvalues (60) */
enum { OV_VALCLASS, OV_OBJID, OV_SUBOBJID, OV_VALNUM, OV_VALUE, OV_IMAGEVAL };
static const bt_field OBJVALUES_FIELDS[] = {
    [OV_VALCLASS] = {"valclass", 1, XT_TINYINT, false},
    [OV_OBJID] = {"objid", 2, XT_INT, false},
    [OV_SUBOBJID] = {"subobjid", 3, XT_INT, false},
    [OV_VALNUM] = {"valnum", 4, XT_INT, false},
    [OV_VALUE] = {"value", 5, XT_SQL_VARIANT, false},
    [OV_IMAGEVAL] = {"imageval", 6, XT_VARBINARY, false},
};

/* syssingleobjrefs (74) */
enum { OR_CLASS, OR_DEPID, OR_DEPSUBID, OR_INDEPID, OR_INDEPSUBID, OR_STATUS };
static const bt_field OBJREFS_FIELDS[] = {
    [OR_CLASS] = {"class", 1, XT_TINYINT, false},
    [OR_DEPID] = {"depid", 2, XT_INT, false},
    [OR_DEPSUBID] = {"depsubid", 3, XT_INT, false},
    [OR_INDEPID] = {"indepid", 4, XT_INT, false},
    [OR_INDEPSUBID] = {"indepsubid", 5, XT_INT, false},
    [OR_STATUS] = {"status", 6, XT_INT, false},
};

static const bt_def DEF_ROWSETS = BT_DEF("sysrowsets", 5, ROWSETS_FIELDS);
static const bt_def DEF_SCHOBJS = BT_DEF("sysschobjs", 34, SCHOBJS_FIELDS);
static const bt_def DEF_COLPARS = BT_DEF("syscolpars", 41, COLPARS_FIELDS);
static const bt_def DEF_SCALARTYPES = BT_DEF("sysscalartypes", 50, SCALARTYPES_FIELDS);
static const bt_def DEF_IDXSTATS = BT_DEF("sysidxstats", 54, IDXSTATS_FIELDS);
static const bt_def DEF_SEOBJVALUES = BT_DEF("sysseobjvalues", 9, SEOBJVALUES_FIELDS);
static const bt_def DEF_ROWSETCOLUMNS = BT_DEF("sysrowsetcolumns", 4, ROWSETCOLUMNS_FIELDS);
static const bt_def DEF_ISCOLS = BT_DEF("sysiscols", 55, ISCOLS_FIELDS);
static const bt_def DEF_OBJVALUES = BT_DEF("sysobjvalues", 60, OBJVALUES_FIELDS);
static const bt_def DEF_CLSOBJS = BT_DEF("sysclsobjs", 64, CLSOBJS_FIELDS);
static const bt_def DEF_XPROPS = BT_DEF("sysxprops", 49, XPROPS_FIELDS);
static const bt_def DEF_FTINDS = BT_DEF("sysftinds", 25, FTINDS_FIELDS);
static const bt_def DEF_SINGLEOBJREFS = BT_DEF("syssingleobjrefs", 74, OBJREFS_FIELDS);

#endif
