/* The audit's state, shared by the files of audit/ only. */
#ifndef B2P_AUDIT_INT_H
#define B2P_AUDIT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "audit/audit.h"

typedef struct b2p_hashset {
    uint64_t *v;
    size_t n, cap;
    bool has_zero;
} b2p_hashset;

/* The keys a foreign key references, as read from the referenced (parent) table. */
typedef struct b2p_fk_keys {
    const b2p_cat_foreign_key *fk;
    b2p_hashset exact, folded;   /* folded: trailing spaces removed, ASCII case folded */
} b2p_fk_keys;

typedef struct b2p_table_keys {
    bool read;                   /* the table's rows have been read */
    size_t nfks;
    b2p_fk_keys *fks;            /* the foreign keys (of any table) that reference this one */
} b2p_table_keys;

struct b2p_audit {
    const b2p_catalog *cat;
    char backup_date[32];
    size_t ntables;
    b2p_audit_table *tables;     /* in the order read */
    b2p_table_keys *keysets;     /* by catalog table index */
    size_t nfindings, cap_findings;
    b2p_finding *findings;
    void (*progress)(void *ctx, const b2p_cat_table *t, uint64_t rows);
    void *progress_ctx;
    pthread_mutex_t mu;          /* guards findings and keysets[].read: tables are read on several threads */
    bool findings_lost;          /* out of memory adding one */
};

#endif
