/* emit/ private: which rows of a table differ between the backup and the target (emit/vdiff.c),
 * for emit/verify.c once a table's content hashes differ. */
#ifndef B2P_VDIFF_INT_H
#define B2P_VDIFF_INT_H

#include "pg_int.h"

typedef struct vdiff_in {
    PGconn *conn;                    /* in verify's transaction: the snapshot the hashes saw */
    b2p_pages *src;
    const b2p_catalog *cat;
    const b2p_names *nm;
    const b2p_cat_table *t;          /* as the backup's side is decoded (the ledger's casts on) */
    const b2p_cat_table *named;      /* the catalog's own table: names go by it */
    b2p_export_options ex;
    const b2p_cat_column *const *cols; /* the exported columns, in export order */
    size_t ncols;
    const bool *in_target;           /* per exported column: the target has it (and the COPY
                                      * below selects it, in export order) */
    const bool *compared;            /* per exported column: its values are compared (in the
                                      * target, of the type the mapping gives) */
    const char *target_copy;         /* COPY (SELECT the in_target columns FROM t) TO STDOUT */
    size_t limit;                    /* rows listed of each kind */
    size_t memory;                   /* bytes of rows held at most */
    void (*progress)(void *ctx, const b2p_cat_table *t, const char *doing, uint64_t rows);
    void *ctx;
} vdiff_in;

/* Compares t's rows on both sides (two more reads of each), into out (free with vdiff_free). */
b2p_status vdiff_table(const vdiff_in *in, b2p_verify_diff *out, b2p_error *err);
void vdiff_free(b2p_verify_diff *d);

#endif
