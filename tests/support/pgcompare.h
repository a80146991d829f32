/* Test support: comparing what PostgreSQL holds with the files bak2pg wrote. */
#ifndef B2P_TEST_PGCOMPARE_H
#define B2P_TEST_PGCOMPARE_H

#include <stddef.h>

#include "tests/support/pgserver.h"

/* A whole file, NUL-terminated (caller frees); NULL when unreadable. */
char *read_file(const char *path, size_t *len);
/* Sorts the lines of text[0..len) in place. */
void sort_lines(char *text, size_t len);
/* For every table of dir/manifest.json: COPY ... TO STDOUT in database db equals (sorted) its data
 * file. Fails the running cmocka test otherwise; returns the number of tables compared. */
int pg_compare_manifest(pgserver *server, const char *dir, const char *db, const char *label);

#endif
