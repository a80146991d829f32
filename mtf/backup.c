/* Opening a backup: one or more files, each a media family of some media set.
 * Files of one media set share the RAID stream's media set GUID; a striped set of N
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
        st = b2p_walk_media(m, err);
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
