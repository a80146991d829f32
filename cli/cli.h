/* The bak2pg command line: one cmd_<name>() per subcommand, listed in main.c's table.
 * A command returns the process exit status (a b2p_status value; README.md "Exit codes"). */
#ifndef B2P_CLI_H
#define B2P_CLI_H

#include "mtf/mtf.h"

int cmd_info(int argc, char **argv);
int cmd_schema(int argc, char **argv);

/* Prints "bak2pg: <message>" on stderr and returns err->code (the exit status). */
int cli_report(const b2p_error *err);
/* Prints a usage error for command cmd, with a pointer to its --help; returns B2P_ERR_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
