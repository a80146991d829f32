/* Generated databases from a small text description: the parser, the value generator and the
 * expected rows, on top of db_writer.h. mkbak (tests/mkbak/mkbak.c) is its command; the
 * round-trip tests call it directly.
 *
 * The description, one statement per line ('#' starts a comment):
 *
 *   database NAME                       the database (and backup) name
 *   schema NAME                         a schema besides dbo
 *   table SCHEMA.NAME                   a table, up to `end`
 *     column NAME TYPE [null|not null] [identity(SEED,INC)] [default SQL] [GENERATOR...]
 *     primary key (COL, ...) [clustered|nonclustered] [name NAME]
 *     foreign key NAME (COL, ...) references SCHEMA.TABLE (COL, ...)
 *     generate N [seed S]               N generated rows
 *     row V1 | V2 | ...                 a literal row (NULL; 0x.. for binary; dates ISO)
 *   end
 *
 * A word may hold "quoted" parts, for names and text values that hold anything a backup can:
 * inside the quotes, blanks, '.', '|', '#', ',' and parentheses are plain characters, and \" \\
 * \n \r \t \xNN are escapes (\x00 only in a value: a name never holds NUL). E.g.
 *   table "a.b"."x\ny"      column "it's \"odd\"" varchar(20)      row "pass\x00word" | 1
 *
 * TYPE is a SQL Server type: bit tinyint smallint int bigint decimal(p,s) numeric(p,s) money
 * smallmoney float real date time(n) datetime smalldatetime datetime2(n) datetimeoffset(n)
 * char(n) varchar(n|max) nchar(n) nvarchar(n|max) binary(n) varbinary(n|max) uniqueidentifier.
 * SQL in `default` is one word without spaces: default ((0)), default (getdate()).
 * GENERATOR options shape generated values: `range A B` (numbers), `len A B` (characters or
 * bytes), `nulls P` (percent NULL in a nullable column, default 10), `seq` (1, 2, 3, ...),
 * `div K` / `mod K` (1 + row / K, 1 + row % K: composite keys in order), `unicode` (non-ASCII
 * text: accents, Greek, CJK, emoji), `pick A,B,C` (one of the listed literal values).
 * Identity columns take seed + row * increment. A clustered
 * table's rows must come in key order: keys are `seq`, `div`/`mod` or identity.
 *
 * Generated values are a function of (seed, row, column) only: the same description gives the
 * same backup, byte for byte. Each value is rendered as the writer stores it and, separately,
 * as bak2pg dump --format copy must print it (README's type table). */
#ifndef B2P_TESTS_DB_GEN_H
#define B2P_TESTS_DB_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct dbg_desc dbg_desc;

/* Parses a description; NULL with a message "line N: ..." in err on a mistake. */
dbg_desc *dbg_parse(const char *text, char *err, size_t errlen);
dbg_desc *dbg_parse_file(const char *path, char *err, size_t errlen);
void dbg_free(dbg_desc *d);

typedef struct dbg_write_options {
    bool compress;               /* the compressed (MSSQLBAK) container */
    double scale;                /* generated row counts multiplied by this (0: 1) */
    const char *expect_dir;      /* when set: DIR/<b2p_table_file_name(schema, table, "copy")>, the
                                  * rows dump --all -o must print */
} dbg_write_options;

/* Writes the backup to out. False with a message in err. */
bool dbg_write(const dbg_desc *d, FILE *out, const dbg_write_options *o, char *err, size_t errlen);

#endif
