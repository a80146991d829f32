/* bak2pg: git-style dispatch to subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define B2P_VERSION "0.1.0"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"info", cmd_info, "describe backup files: backup sets, database, files; --check verifies every page"},
    {"convert", cmd_convert, "a backup to PostgreSQL load files: DDL, COPY data, load.sql (no server needed)"},
    {"load", cmd_load, "a backup straight into a PostgreSQL server (libpq, COPY FROM STDIN, no files)"},
    {"verify", cmd_verify, "compare a loaded PostgreSQL database with the backup: rows, content hashes, keys"},
    {"dump", cmd_dump, "the rows of tables, exact, as PostgreSQL COPY text, CSV or JSON lines"},
    {"audit", cmd_audit, "what is in the backup's rows and what will trouble a migration: nulls, orphans, dates"},
    {"schema", cmd_schema, "the tables of the backed-up database: columns, keys, indexes, row counts"},
};

static void print_help(FILE *out) {
    fprintf(out,
            "bak2pg %s: read SQL Server backups (.bak) without SQL Server, and move them to PostgreSQL\n"
            "\n"
            "usage: bak2pg <command> [options] FILE...\n"
            "       bak2pg <command> --help\n"
            "       bak2pg help <command>\n"
            "\n"
            "commands:\n",
            B2P_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "examples:\n"
            "  bak2pg info Northwind.bak               what is in this backup?\n"
            "  bak2pg info --check Northwind.bak       ... and are all its pages intact?\n"
            "  bak2pg info --json stripe1.bak stripe2.bak\n"
            "\n"
            "Exit status: 0 success; 1 a check found problems; 2 usage; 3 i/o error;\n"
            "4 not a SQL Server backup; 5 truncated; 6 corrupt; 7 missing stripe;\n"
            "8 log backup where data pages are needed; 9 differential without its full;\n"
            "10 backup encryption; 11 TDE; 12 unsupported compression; 13 out of memory;\n"
            "14 unsupported; 15 not found; 16 internal error; 17 PostgreSQL unreachable;\n"
            "18 credentials refused; 19 read-only target; 20 PostgreSQL refused a statement;\n"
            "21 completed, but some tables failed. Output that cannot be written (a full disk)\n"
            "is an i/o error (3), for every command.\n");
}

/* Whether standard output has lost something: flushes it and, when that or an earlier write
 * failed, returns the reason. stdio keeps unwritten buffered bytes, so the flush fails again and
 * errno says why; a large write that went past the buffer left its reason in errno (the caller's
 * `saved`, taken before anything else could change it). NULL when all output has arrived. */
static bool stdout_loss_reported; /* cli_report said it: finish need not say it again */

static const char *stdout_lost(int saved) {
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return NULL;
    int e = errno ? errno : saved;
    return e ? strerror(e) : "write error";
}

int cli_report(const b2p_error *err) {
    int saved = errno;
    /* messages carry names from the backup: shown escaped, so that they cannot move the cursor,
     * rewrite the line or fake another message */
    b2p_buf shown = {0};
    const char *msg = err->msg[0] ? err->msg : b2p_status_name(err->code);
    bool ok = !b2p_escape_text(&shown, msg, strlen(msg), 0, NULL);
    /* a command that failed because its output could not be written says why, in the same line */
    const char *lost = err->code == B2P_ERR_IO ? stdout_lost(saved) : NULL;
    if (lost) stdout_loss_reported = true;
    fprintf(stderr, "bak2pg: %s%s%s%s\n", ok ? shown.data : "(a message that could not be shown)",
            lost ? " (standard output: " : "", lost ? lost : "", lost ? ")" : "");
    b2p_buf_free(&shown);
    return err->code ? (int)err->code : 1;
}

/* One rule for every command: output that did not arrive is a failure. A command that
 * succeeded but whose standard output could not be written (a full disk, a closed descriptor)
 * exits B2P_ERR_IO with the reason, in one line; so does one that noticed the loss itself and
 * returned B2P_ERR_IO without saying why. A command that failed for another reason keeps its
 * own status and message. */
static int finish(int rc) {
    const char *lost = stdout_lost(errno);
    if (!lost || stdout_loss_reported || (rc != 0 && rc != B2P_ERR_IO)) return rc;
    fprintf(stderr, "bak2pg: the output could not be written (standard output: %s)\n", lost);
    return B2P_ERR_IO;
}

/* `bak2pg help CMD`: CMD's own help, as `bak2pg CMD --help` prints it (one text per command,
 * kept in its cmd_*.c), so that the man page and the shell completions, which read it, see
 * what the command really accepts. */
static int help_command(int argc, char **argv) {
    if (argc > 3) {
        fprintf(stderr, "bak2pg help: one command at most (see 'bak2pg --help')\n");
        return B2P_ERR_USAGE;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[2], commands[i].name) != 0) continue;
        char name[16], help[] = "--help";
        snprintf(name, sizeof name, "%s", commands[i].name);
        char *av[] = {name, help, NULL};
        return commands[i].run(2, av);
    }
    fprintf(stderr, "bak2pg help: '%s' is not a bak2pg command (see 'bak2pg --help')\n", b2p_shown(argv[2]));
    return B2P_ERR_USAGE;
}

static int run(int argc, char **argv) {
    if (argc < 2) {
        print_help(stderr);
        return B2P_ERR_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || (!strcmp(name, "help") && argc == 2)) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(name, "help")) return help_command(argc, argv);
    if (!strcmp(name, "--version")) {
        printf("bak2pg %s\n", B2P_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "bak2pg: '%s' is not a bak2pg command (see 'bak2pg --help')\n", b2p_shown(name));
    return B2P_ERR_USAGE;
}

int main(int argc, char **argv) {
    /* getopt's own message ("unrecognized option '--bogus'") would come before the command's
     * usage error and say the same thing twice: the commands report bad options themselves
     * (naming it from optopt or argv[optind - 1]). */
    opterr = 0;
    return finish(run(argc, argv));
}
