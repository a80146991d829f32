/* Opening a backup: one or more files, each a media family of some media set, all parts of one
 * backup. Files of one media set share the RAID stream's media set GUID; a striped set of N
 * families must have sequence numbers 1..N all present (container.md 9.1). */
#define B2P_MTF_INTERNAL
#include "mtf_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void media_free(b2p_media_int *m) {
    if (!m) return;
    b2p_media_free_sets(m);
    b2p_image_close(&m->image);
    free(m);
}

void b2p_backup_free(b2p_backup *bk) {
    if (!bk) return;
    for (size_t i = 0; i < bk->nmedia; i++) media_free(bk->media[i]);
    free(bk->media);
    free(bk);
}

static b2p_status media_open(const char *path, b2p_media_int **out, b2p_error *err) {
    b2p_media_int *m = calloc(1, sizeof *m);
    if (!m) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    m->image.fd = -1;
    snprintf(m->pub.path, sizeof m->pub.path, "%s", path);
    b2p_status st = b2p_image_open(&m->image, m->pub.path, err);
    if (!st) {
        m->pub.compressed = m->image.compressed;
        m->pub.file_size = m->image.file_size;
        if (m->image.tde) {
            m->pub.tde = true;
            memcpy(m->pub.tde_thumbprint, m->image.tde_thumbprint, sizeof m->pub.tde_thumbprint);
            m->pub.tde_key_len = m->image.tde_key_len;
            m->pub.family_count = m->pub.family_sequence = 1;
        } else st = b2p_walk_media(m, err);
    }
    if (st) {
        media_free(m);
        return st;
    }
    for (size_t i = 0; i < m->pub.nsets; i++) m->pub.sets[i].compressed = m->pub.compressed;
    *out = m;
    return B2P_OK;
}

/* Checks that every media set among the files has all its families. */
static b2p_status check_stripes(const b2p_backup *bk, b2p_error *err) {
    for (size_t i = 0; i < bk->nmedia; i++) {
        const b2p_media *a = &bk->media[i]->pub;
        uint32_t present = 0; /* bit k: family k+1 seen (up to 32 families) */
        char seen[256] = "";
        size_t seen_len = 0;
        for (size_t j = 0; j < bk->nmedia; j++) {
            const b2p_media *b = &bk->media[j]->pub;
            if (memcmp(&a->media_set_guid, &b->media_set_guid, sizeof a->media_set_guid) != 0)
                continue;
            if (j < i) goto next; /* this media set was checked with its first file */
            if (b->family_sequence >= 1 && b->family_sequence <= 32) {
                if (present & (1u << (b->family_sequence - 1))) {
                    if (b->family_count <= 1)
                        return b2p_fail(err, B2P_ERR_USAGE, "'%s' is given twice (also as '%s')",
                                        b->path, a->path);
                    return b2p_fail(err, B2P_ERR_USAGE,
                                    "'%s': stripe %u of %u is given twice (also '%s')", b->path,
                                    b->family_sequence, b->family_count, a->path);
                }
                present |= 1u << (b->family_sequence - 1);
                seen_len += (size_t)snprintf(seen + seen_len, sizeof seen - seen_len, "%s%u",
                                             seen_len ? ", " : "", b->family_sequence);
                if (seen_len >= sizeof seen) seen_len = sizeof seen - 1;
            }
        }
        if (a->family_count > 32)
            return b2p_fail(err, B2P_ERR_UNSUPPORTED, "'%s': media set of %u stripes, at most 32 supported",
                            a->path, a->family_count);
        uint32_t want = a->family_count >= 32 ? 0xFFFFFFFFu : (1u << a->family_count) - 1;
        if ((present & want) != want) {
            char guid[40];
            return b2p_fail(err, B2P_ERR_MISSING_STRIPE,
                            "'%s': striped backup of %u files (media set %s) but only stripe(s) %s "
                            "given; give every stripe file, or --allow-missing-stripes to salvage",
                            a->path, a->family_count, b2p_guid_format(&a->media_set_guid, guid, sizeof guid),
                            seen);
        }
    next:;
    }
    return B2P_OK;
}

/* ---- one backup at a time ----------------------------------------------------------------
 * Several files given together must be parts of one backup: the stripes of one media set, a
 * full backup with its differentials (a differential names its base by GUID), and transaction
 * logs of that full (a log's DatabaseBackupLSN is its full's checkpoint LSN, container.md 9.3).
 * Anything else would be read as one of them while the other is dropped in silence, so files
 * that no such relation joins are refused, naming a file (and its database) of each part. */

static bool is_differential(b2p_backup_type t) {
    return t == B2P_BACKUP_DIFFERENTIAL || t == B2P_BACKUP_DIFF_FILE || t == B2P_BACKUP_DIFF_PARTIAL;
}

static bool guid_equal(const b2p_guid *a, const b2p_guid *b) {
    return memcmp(a->b, b->b, sizeof a->b) == 0;
}

static bool lsn_equal(b2p_lsn a, b2p_lsn b) {
    return a.vlf == b.vlf && a.block == b.block && a.slot == b.slot;
}

/* Whether set b is the base a needs: the full of differential a, or the full log a follows. */
static bool is_base_of(const b2p_set_info *a, const b2p_set_info *b) {
    if (is_differential(a->type)) return guid_equal(&a->differential_base_guid, &b->backup_set_guid);
    return a->type == B2P_BACKUP_LOG && !is_differential(b->type) && b->type != B2P_BACKUP_LOG &&
           guid_equal(&a->family_guid, &b->family_guid) && !b2p_lsn_is_zero(b->checkpoint_lsn) &&
           lsn_equal(a->database_backup_lsn, b->checkpoint_lsn);
}

static bool media_related(const b2p_media *a, const b2p_media *b) {
    if (guid_equal(&a->media_set_guid, &b->media_set_guid)) return true;
    for (size_t i = 0; i < a->nsets; i++)
        for (size_t j = 0; j < b->nsets; j++)
            if (guid_equal(&a->sets[i].backup_set_guid, &b->sets[j].backup_set_guid) ||
                is_base_of(&a->sets[i], &b->sets[j]) || is_base_of(&b->sets[j], &a->sets[i]))
                return true;
    return false;
}

static size_t group_of(size_t *parent, size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

/* The set a file is best named by: its last full or differential, else its last set. */
static const b2p_set_info *naming_set(const b2p_media *m) {
    for (size_t i = m->nsets; i-- > 0;)
        if (m->sets[i].type != B2P_BACKUP_LOG) return &m->sets[i];
    return &m->sets[m->nsets - 1];
}

/* Whether m holds only differentials whose base is in none of the files. */
static bool orphan_differentials(const b2p_backup *bk, const b2p_media *m) {
    for (size_t i = 0; i < m->nsets; i++) {
        if (!is_differential(m->sets[i].type)) return false;
        for (size_t k = 0; k < bk->nmedia; k++)
            for (size_t j = 0; j < bk->media[k]->pub.nsets; j++)
                if (is_base_of(&m->sets[i], &bk->media[k]->pub.sets[j])) return false;
    }
    return m->nsets > 0;
}

b2p_status b2p_fail_not_its_base(b2p_error *err, const char *diff_path, const b2p_set_info *diff,
                                 const char *full_path, const b2p_set_info *full) {
    char guid[40], lsn[32], full_lsn[32];
    return b2p_fail(err, B2P_ERR_NEEDS_FULL,
                    "'%s': backup set %u is a differential of full backup %s (checkpoint LSN %s), but the full "
                    "backup given ('%s', checkpoint LSN %s) is not its base",
                    diff_path, diff->position, b2p_guid_format(&diff->differential_base_guid, guid, sizeof guid),
                    b2p_lsn_format(diff->differential_base_lsn, lsn, sizeof lsn), full_path,
                    b2p_lsn_format(full->checkpoint_lsn, full_lsn, sizeof full_lsn));
}

static b2p_status refuse_unrelated(const b2p_backup *bk, const b2p_media *a, const b2p_media *b, b2p_error *err) {
    const b2p_media *orphan = orphan_differentials(bk, a) ? a : orphan_differentials(bk, b) ? b : NULL;
    if (orphan) /* the likely mistake: the wrong full backup beside a differential */
        return b2p_fail_not_its_base(err, orphan->path, naming_set(orphan), orphan == a ? b->path : a->path,
                                     naming_set(orphan == a ? b : a));
    const b2p_set_info *sa = naming_set(a), *sb = naming_set(b);
    char ga[40], gb[40];
    return b2p_fail(err, B2P_ERR_USAGE,
                    "'%s' (database '%s', %s backup set %u, GUID %s) and '%s' (database '%s', %s backup set %u, "
                    "GUID %s) are not parts of one backup; give one backup at a time (its stripes, or a full "
                    "backup with its differentials)",
                    a->path, sa->database_name, b2p_backup_type_name(sa->type), sa->position,
                    b2p_guid_format(&sa->backup_set_guid, ga, sizeof ga), b->path, sb->database_name,
                    b2p_backup_type_name(sb->type), sb->position, b2p_guid_format(&sb->backup_set_guid, gb, sizeof gb));
}

/* Refuses files that are not all parts of one backup (see above). */
static b2p_status check_one_backup(const b2p_backup *bk, b2p_error *err) {
    size_t *parent = malloc(bk->nmedia * sizeof *parent);
    if (!parent) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < bk->nmedia; i++) parent[i] = i;
    for (size_t i = 0; i < bk->nmedia; i++)
        for (size_t j = i + 1; j < bk->nmedia; j++)
            if (media_related(&bk->media[i]->pub, &bk->media[j]->pub)) parent[group_of(parent, j)] = group_of(parent, i);
    b2p_status st = B2P_OK;
    for (size_t j = 1; j < bk->nmedia && !st; j++)
        if (group_of(parent, j) != group_of(parent, 0))
            st = refuse_unrelated(bk, &bk->media[0]->pub, &bk->media[j]->pub, err);
    free(parent);
    return st;
}

b2p_status b2p_backup_open(b2p_backup **out, const char *const *paths, size_t npaths,
                           const b2p_open_options *opt, b2p_error *err) {
    *out = NULL;
    if (npaths == 0) return b2p_fail(err, B2P_ERR_USAGE, "no backup file given");
    b2p_backup *bk = calloc(1, sizeof *bk);
    if (!bk || !(bk->media = calloc(npaths, sizeof *bk->media))) {
        free(bk);
        return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < npaths; i++) {
        b2p_status st = media_open(paths[i], &bk->media[i], err);
        if (st) {
            b2p_backup_free(bk);
            return st;
        }
        bk->nmedia++;
    }
    b2p_status related = check_one_backup(bk, err);
    if (related) {
        b2p_backup_free(bk);
        return related;
    }
    if (!(opt && opt->allow_missing_stripes)) {
        b2p_status st = check_stripes(bk, err);
        if (st) {
            b2p_backup_free(bk);
            return st;
        }
    }
    *out = bk;
    return B2P_OK;
}

size_t b2p_backup_media_count(const b2p_backup *bk) {
    return bk->nmedia;
}

const b2p_media *b2p_backup_media(const b2p_backup *bk, size_t i) {
    return i < bk->nmedia ? &bk->media[i]->pub : NULL;
}

b2p_status b2p_fail_tde(b2p_error *err, const b2p_media *m) {
    char hex[41];
    for (int i = 0; i < 20; i++) snprintf(hex + 2 * i, 3, "%02X", m->tde_thumbprint[i]);
    return b2p_fail(err, B2P_ERR_TDE,
                    "'%s': offset 24: the backup is under transparent data encryption (TDE): its contents "
                    "are encrypted with the database encryption key, protected by the server certificate "
                    "with SHA-1 thumbprint %s; bak2pg cannot read pages or log records without it",
                    m->path, hex);
}
