/* The bak2pg command line: one cmd_<name>() per subcommand, listed in main.c's table.
 * A command returns the process exit status (a b2p_status value; README.md "Exit codes"). */
#ifndef B2P_CLI_H
#define B2P_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "catalog/catalog.h"
#include "emit/emit.h"
#include "mtf/mtf.h"

int cmd_info(int argc, char **argv);
int cmd_schema(int argc, char **argv);

int cmd_dump(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_audit(int argc, char **argv);


/* A backup opened down to its catalog. */
typedef struct cli_source {
    b2p_backup *bk;
    b2p_pages *src;
    b2p_catalog *cat;
} cli_source;

/* Opens files (any order: stripes, a differential and its full), the page source of the
 * chosen backup set and its catalog. On failure everything is closed and err says why. */
b2p_status cli_open_catalog(cli_source *s, char **files, size_t nfiles, int backup_set,
                            bool allow_missing, b2p_error *err);
void cli_close(cli_source *s);
/* ---- which tables, under which PostgreSQL names: the options load, convert and verify share ---- */

enum { CLI_MAX_PATTERNS = 64 };

/* getopt_long codes of the options below (out of the range of short options). */
/* getopt_long codes of the options below (out of the range of short options). */
enum {
    CLI_OPT_TABLE = 0x100, CLI_OPT_EXCLUDE_TABLE, CLI_OPT_SCHEMA, CLI_OPT_EXCLUDE_SCHEMA, CLI_OPT_STRICT_NAMES,
    CLI_OPT_KEEP_CASE, CLI_OPT_SCHEMA_MAP, CLI_OPT_INCLUDE_SSMS, CLI_OPT_CAST,
    CLI_OPT_FIRST_FREE = 0x180 /* a command's own long-only options start here */
};

typedef struct cli_tables {
    const char *include[CLI_MAX_PATTERNS], *exclude[CLI_MAX_PATTERNS];       /* -t, -T */
    const char *schemas[CLI_MAX_PATTERNS], *exclude_schemas[CLI_MAX_PATTERNS]; /* -n, -N */
    size_t ninclude, nexclude, nschemas, nexclude_schemas;
    bool strict_names;               /* an exclusion that matches nothing is an error too */
    const char *map_from[CLI_MAX_PATTERNS], *map_to[CLI_MAX_PATTERNS];
    b2p_naming_options naming;       /* its schema maps point into map_from / map_to */
    bool include_ssms;
    const char *casts[CLI_MAX_PATTERNS]; /* --cast arguments, as given (checked when parsed) */
    size_t ncasts;
} cli_tables;

/* The short options of the table choice (-t -T -n -N), for a command's getopt optstring. */
#define CLI_TABLES_SHORTOPTS "t:T:n:N:"

/* The struct option entries (getopt.h) for the table choice, the naming options and --cast,
 * and their --help lines: put both (and CLI_TABLES_SHORTOPTS) in a command to give it the
 * options. */
#define CLI_SELECT_LONGOPTS                                                                              \
    {"table", required_argument, NULL, CLI_OPT_TABLE},                                                   \
    {"exclude-table", required_argument, NULL, CLI_OPT_EXCLUDE_TABLE},                                   \
    {"schema", required_argument, NULL, CLI_OPT_SCHEMA},                                                 \
    {"exclude-schema", required_argument, NULL, CLI_OPT_EXCLUDE_SCHEMA},                                 \
    {"strict-names", no_argument, NULL, CLI_OPT_STRICT_NAMES},                                           \
    {"include-ssms-tables", no_argument, NULL, CLI_OPT_INCLUDE_SSMS}
#define CLI_TABLES_LONGOPTS                                                                              \
    CLI_SELECT_LONGOPTS,                                                                                 \
    {"keep-case", no_argument, NULL, CLI_OPT_KEEP_CASE},                                                 \
    {"schema-map", required_argument, NULL, CLI_OPT_SCHEMA_MAP},                                         \
    {"cast", required_argument, NULL, CLI_OPT_CAST}
#define CLI_SELECT_HELP                                                                                  \
    "  -t, --table PATTERN        only these tables (repeatable): shell wildcards (* ? [...]) matched,\n"  \
    "                             ignoring case, against schema.name and name, both as in the backup\n"    \
    "                             and as in PostgreSQL ('-t customers', '-t public.customers' and\n"      \
    "                             '-t dbo.Customers' are one table); a pattern that matches nothing\n"    \
    "                             is an error, naming the closest tables\n"                               \
    "  -T, --exclude-table PATTERN  not these tables (repeatable)\n"                                      \
    "  -n, --schema PATTERN       only the tables of these schemas (repeatable; -t wins over -n)\n"       \
    "  -N, --exclude-schema PATTERN  not the tables of these schemas (repeatable)\n"                       \
    "  --strict-names             an -T or -N pattern that matches nothing is an error too (without\n"    \
    "                             it, a warning): -t and -n patterns always must match\n"                 \
    "  --include-ssms-tables      also SSMS's own tables (dbo.sysdiagrams), left out by default\n"
#define CLI_TABLES_HELP                                                                                  \
    CLI_SELECT_HELP                                                                                      \
    "  --keep-case                keep identifiers' case (quoted) instead of folding to lower case\n"      \
    "  --schema-map FROM=TO       put SQL Server schema FROM into PostgreSQL schema TO (repeatable;\n"     \
    "                             dbo goes to public unless mapped)\n"                                     \
    CLI_CAST_HELP
/* --cast's lines alone, for a command that takes --cast but not the other options (dump). */
#define CLI_CAST_HELP                                                                                    \
    "  --cast SCHEMA.TABLE.COLUMN=bytea  deliver that column as bytea: its stored bytes, exactly\n"        \
    "                             (text holding bytes, e.g. hashed passwords with NUL bytes; repeatable).\n" \
    "                             Names as in the backup; \"...\" around a name holding '.', '=' or '\"'\n" \
    "                             (\"\" for a quote): --cast 'dbo.\"odd.name\".Password=bytea'\n"

/* Applies option c (a CLI_OPT_* code, or t T n N, from getopt_long) with its argument to o: 0
 * when done, B2P_ERR_USAGE (reported for command cmd) for a bad argument, -1 when c is none of
 * them. */
int cli_tables_option(const char *cmd, cli_tables *o, int c, char *arg);
/* Per catalog table, whether it is chosen (*selected, the caller frees) by o's patterns (see
 * cli/select.c: matched against the backup's names and, when nm is given, the PostgreSQL ones)
 * and not SSMS's own unless --include-ssms-tables; and applies the --cast options to cat's
 * columns. One rule for every command: a -t or -n pattern that matches no table is
 * B2P_ERR_NOT_FOUND naming it and the closest names (so is a -T or -N one with --strict-names);
 * a --cast whose table or column the backup lacks (or cannot take the type) is B2P_ERR_USAGE. */
b2p_status cli_select_tables(b2p_catalog *cat, const cli_tables *o, const b2p_names *nm, bool **selected,
                             b2p_error *err);
/* The pattern checks of cli_select_tables alone. */
b2p_status cli_check_patterns(const b2p_catalog *cat, const cli_tables *o, const b2p_names *nm, b2p_error *err);
/* Whether an object other than a table (a view, a procedure, a type) in schema `schema` is
 * chosen by o's patterns, by the same rule as tables. */
bool cli_object_selected(const cli_tables *o, const b2p_names *nm, const char *schema, const char *name);
/* Whether pattern matches schema.name or name, in the backup's names or (nm given) PostgreSQL's,
 * ignoring case. */
bool cli_name_matches(const b2p_names *nm, const char *pattern, const char *schema, const char *name);
/* Whether t is SSMS's own (dbo.sysdiagrams): marked so, or of that name and shape. */
bool cli_is_ssms_table(const b2p_cat_table *t);
/* Applies --cast arguments casts[0..n) to cat's columns (cli_select_tables does it; for dump,
 * which has its own --table). Errors as cli_select_tables'. */
b2p_status cli_apply_casts(b2p_catalog *cat, const char *const *casts, size_t n, b2p_error *err);
/* Checks one --cast argument's form: 0, or B2P_ERR_USAGE (reported for command cmd). */
int cli_check_cast(const char *cmd, const char *arg);
/* Parses --nul's argument (error, strip, replace); B2P_ERR_USAGE (reported) if bad. */
int cli_parse_nul(const char *cmd, const char *arg, b2p_nul_policy *out);

/* Parses a count option's argument (-j, --retries) into *out, from min to max; B2P_ERR_USAGE
 * (reported, naming option) if it is not a number in that range. */
int cli_parse_count(const char *cmd, const char *option, const char *arg, unsigned min, unsigned max, unsigned *out);
/* Parses --backup-set's argument (a position, 1..65535) into *out; B2P_ERR_USAGE (reported) if bad. */
int cli_parse_backup_set(const char *cmd, const char *arg, int *out);

/* ---- sections and the plan (-l/--list) ---- */

enum { CLI_SECTION_PRE = 1, CLI_SECTION_DATA = 2, CLI_SECTION_POST = 4, CLI_SECTION_ALL = 7 };

/* Applies one --section argument (pre-data, data, post-data; repeatable) to *sections: the
 * first one given (*given false) replaces the default, all three. B2P_ERR_USAGE (reported) if bad. */
int cli_parse_section(const char *cmd, const char *arg, unsigned *sections, bool *given);
/* Prints what a run would do with the selected tables, in load order, section by section, as
 * pg_restore -l lists an archive: nothing is written or connected to. Returns 0 or a status. */
int cli_print_plan(FILE *out, const cli_source *in, const b2p_names *nm, const bool *selected, unsigned sections);

/* Seconds on the monotonic clock: for progress, rates and ETAs. */
double cli_now(void);

/* Opens output directory path (-o DIR of convert and dump), creating it if needed. A directory
 * that holds anything is refused (its old files would sit beside the new ones, looking like one
 * run) unless clean, which first removes what an earlier bak2pg run wrote there (and only that). */
b2p_status cli_open_output_dir(const char *path, bool clean, b2p_outdir **dir, b2p_error *err);

/* A secret given on the command line (a conninfo may hold a password): returns a copy of value
 * (NULL when out of memory) and overwrites every argv text in args (each the optarg getopt gave
 * for the option, which may be the tail of "--dsn=...") with NULs, so that the process title
 * (ps, /proc/PID/cmdline) no longer shows it. */
char *cli_take_secret(char *const *args, size_t nargs, const char *value);

/* A new file at path, for a user's -f or --review-file: one that exists already is refused
 * (B2P_ERR_USAGE; it may be the backup itself, which bak2pg never writes), never overwritten, and
 * a symbolic link is not followed. NULL, err set, on failure. */
FILE *cli_create_file(const char *path, b2p_error *err);
/* Writes data[0..len) into a new file at path, as cli_create_file makes it. */
b2p_status cli_write_new_file(const char *path, const char *data, size_t len, b2p_error *err);
/* Whether the environment names a database as psql takes it (PGDATABASE, or PGSERVICE), so that
 * a command may go without -d/--dsn. */
bool cli_env_names_database(void);

/* The conninfo libpq is given for -d/--dbname/--dsn X: X itself when it is a conninfo or URI (or
 * empty: the environment's), else dbname='X', as psql -d takes a plain name. Allocated. */
char *cli_conninfo(const char *dbname_or_conninfo);

/* Prints "bak2pg: <message>" on stderr and returns err->code (the exit status). */
int cli_report(const b2p_error *err);
/* Prints a usage error for command cmd, once: the message, the command's one-line usage and a
 * pointer to its --help; returns B2P_ERR_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The usage error for what getopt_long returned as c ('?' or ':', its optstring beginning with
 * ':' and opterr 0): names the option that is unknown or lacks its argument. */
int cli_bad_option(const char *cmd, int c, char **argv);

/* Each command's --help text (its first line is the one-line usage). */
extern const char *const cli_info_usage, *const cli_schema_usage, *const cli_dump_usage, *const cli_convert_usage,
    *const cli_load_usage, *const cli_verify_usage, *const cli_audit_usage;

#endif
