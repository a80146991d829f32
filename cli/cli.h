/* The bak2pg command line: one cmd_<name>() per subcommand, listed in main.c's table.
 * A command returns the process exit status (a b2p_status value; README.md "Exit codes"). */
#ifndef B2P_CLI_H
#define B2P_CLI_H

#include <stdbool.h>

#include "catalog/catalog.h"
#include "emit/emit.h"
#include "mtf/mtf.h"

int cmd_info(int argc, char **argv);
int cmd_schema(int argc, char **argv);

int cmd_dump(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_load(int argc, char **argv);


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
/* Whether "schema.name" or "name" matches the shell pattern (NULL matches every table). */
bool cli_table_selected(const b2p_cat_table *t, const char *pattern);

/* Parses --backup-set's argument (a position, 1..65535) into *out; B2P_ERR_USAGE (reported) if bad. */
int cli_parse_backup_set(const char *cmd, const char *arg, int *out);

/* Creates directory path and its missing parents; 0, or -1 with errno set. */
int cli_mkdir_p(const char *path);

/* Prints "bak2pg: <message>" on stderr and returns err->code (the exit status). */
int cli_report(const b2p_error *err);
/* Prints a usage error for command cmd, with a pointer to its --help; returns B2P_ERR_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
