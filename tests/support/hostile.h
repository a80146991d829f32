/* Test support: hostile databases for the property test of issue 12 (tests/test_hostile.c).
 *
 * hostile_generate(seed) makes a description (tests/support/db_gen.h) of a database whose every
 * name (database, schemas, tables, columns, primary and foreign keys) is drawn from a hostile
 * alphabet: quotes of both kinds, backslash, ';', '--', '/ *', newline, CR, '$(', backtick, '%',
 * tab, C0 controls including ESC and terminal sequences, DEL, C1 controls, non-ASCII (accents,
 * CJK, emoji, bidi overrides U+202E and U+2066, line separators, zero-width characters),
 * 128-character names, '/', '..' and '.'. Each run also holds, whatever the seed, the shapes the
 * issue names: table names that collide under naming rules ("a/b" against "a_b" and "a%2Fb";
 * schema "x" + table "y.z" against schema "x.y" + table "z"; names that differ only in case; a
 * primary key named like another table of its schema), names that are "." or "..", names that
 * climb out of a directory ("/../../EVIL-..."), and payloads that run a program if a name ever
 * reaches a shell, psql's meta-commands or SQL unquoted: each touches a file CANARY-<tag>-<n>
 * (relative, or under /tmp) that the test looks for afterwards.
 *
 * Names are distinct even as PostgreSQL keeps them (their first 63 bytes), except where a
 * naming rule is the point; every table has three rows (keys 1, 2, 3) whose text values are
 * hostile too. The same seed gives the same description. */
#ifndef B2P_TESTS_HOSTILE_H
#define B2P_TESTS_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { HOSTILE_MAX_TABLES = 24, HOSTILE_MAX_COLUMNS = 24, HOSTILE_MAX_SCHEMAS = 8 };

typedef struct hostile_table {
    const char *schema, *name;           /* as the backup holds them ("dbo" for dbo) */
    const char *columns[HOSTILE_MAX_COLUMNS];
    size_t ncolumns;
    const char *pk_name;                 /* the primary key (column 0) */
    bool pk_clustered;
    const char *fk_name;                 /* NULL: no foreign key */
    size_t fk_column;                    /* its column in this table */
    size_t fk_parent;                    /* the table it references (by its column 0) */
} hostile_table;

/* A file that must never appear: a payload's target, or where a name would climb to. */
typedef struct hostile_canary {
    char path[96];                       /* "CANARY-<tag>-<n>", "/tmp/CANARY-...", "EVIL-..." */
    const char *what;                    /* the payload's kind */
    const char *role;                    /* "database", "schema", "table", "column", ... */
    const char *name;                    /* the name (or value) that holds it */
} hostile_canary;

typedef struct hostile_db {
    uint64_t seed;
    char tag[24];                        /* in every canary's file name */
    const char *database;
    const char *schemas[HOSTILE_MAX_SCHEMAS]; /* declared besides dbo */
    size_t nschemas;
    hostile_table tables[HOSTILE_MAX_TABLES];
    size_t ntables;
    hostile_canary *canaries;
    size_t ncanaries;
    size_t nnames;                       /* distinct names in the description */
    char *description;                   /* the db_gen text */
} hostile_db;

/* A hostile database for seed; tag (short, [A-Za-z0-9-]) goes into every canary's file name.
 * NULL when out of memory. */
hostile_db *hostile_generate(uint64_t seed, const char *tag);
void hostile_free(hostile_db *h);

/* The canary whose file name ends path (a base name found on disk), or NULL. */
const hostile_canary *hostile_canary_of(const hostile_db *h, const char *base);

/* s shown for a message: in double quotes, printable ASCII as itself, '"' and '\' escaped, every
 * other byte as \n \r \t \xNN or, for valid UTF-8 beyond ASCII, \u{XXXX}. Injective; the result
 * is in a ring of 16 static buffers (long names are cut with "..."). */
const char *hostile_shown(const char *s);

#endif
