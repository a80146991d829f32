/* info --check for transaction log backups: a log backup holds no data pages, so checking it
 * means reading every log stream (MQTL) of the set through, verifying the backup checksum (CSUM)
 * that follows a stream when the backup was taken WITH CHECKSUM, and counting what the walk
 * skipped by its own length (PH6S). The descriptor blocks and stream headers themselves were
 * verified when the file was opened (walk.c). */
#define B2P_MTF_INTERNAL
#include "mtf_int.h"

#include <stdlib.h>
#include <string.h>

enum { CHECK_CHUNK = 64 * 1024 }; /* a multiple of 512: the checksum runs over whole sectors */

/* The log set at position, or the last log set of the given files when position is 0. */
static bool find_log_set(const b2p_backup *bk, int position, size_t *media, size_t *set) {
    bool found = false;
    for (size_t i = 0; i < bk->nmedia; i++) {
        const b2p_media *m = &bk->media[i]->pub;
        for (size_t s = 0; s < m->nsets; s++) {
            if (m->sets[s].type != B2P_BACKUP_LOG) continue;
            if (position > 0 && m->sets[s].position != position) continue;
            *media = i;
            *set = s;
            found = true;
        }
    }
    return found;
}

static b2p_status check_log_range(b2p_media_int *m, b2p_image_cache *cache, const b2p_data_range *r,
                                  uint8_t *buf, b2p_log_stats *st, b2p_error *err) {
    b2p_csum_state csum = {0, 0};
    for (uint64_t done = 0; done < r->len;) {
        size_t n = r->len - done < CHECK_CHUNK ? (size_t)(r->len - done) : CHECK_CHUNK;
        b2p_status s = b2p_image_read(&m->image, cache, r->image_off + done, buf, n, err);
        if (s) return s;
        if (r->has_csum) b2p_backup_checksum_update(&csum, buf, n);
        done += n;
    }
    st->log_streams++;
    st->log_bytes += r->len;
    if (r->has_csum) {
        st->csum_streams++;
        if (csum.value != r->csum) {
            st->csum_bad++;
            if (st->first_bad_offset == 0)
                st->first_bad_offset = b2p_image_file_offset(&m->image, r->image_off);
        }
    }
    return B2P_OK;
}

b2p_status b2p_log_check(const b2p_backup *bk, int position, const b2p_set_info **set,
                         b2p_log_stats *st, b2p_error *err) {
    memset(st, 0, sizeof *st);
    size_t mi = 0, si = 0;
    for (size_t i = 0; i < bk->nmedia; i++)
        if (bk->media[i]->pub.tde) return b2p_fail_tde(err, &bk->media[i]->pub);
    if (!find_log_set(bk, position, &mi, &si))
        return b2p_fail(err, B2P_ERR_NOT_FOUND, "'%s': no transaction log backup set%s in the given file(s)",
                        bk->nmedia ? bk->media[0]->pub.path : "", position > 0 ? " at that position" : "");
    b2p_media_int *m = bk->media[mi];
    const b2p_set_data *d = &m->data[si];
    *set = &m->pub.sets[si];
    st->log_blocks = d->log_blocks;
    st->skipped_blocks = d->skipped_blocks;
    uint8_t *buf = malloc(CHECK_CHUNK);
    if (!buf) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    b2p_image_cache cache = {0};
    b2p_status s = B2P_OK;
    for (size_t r = 0; r < d->nlog_ranges && !s; r++)
        s = check_log_range(m, &cache, &d->log_ranges[r], buf, st, err);
    b2p_image_cache_free(&cache);
    free(buf);
    return s;
}
