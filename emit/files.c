/* Data files of a conversion: what the export writes goes through an optional zstd stream
 * (multi-threaded where libzstd was built so) to the file, and the bytes as stored are counted
 * and hashed for the manifest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "emit.h"

static bool raw_write(b2p_file_sink *s, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, s->f) != n) return false;
    b2p_sha256_update(&s->sha, p, n);
    s->bytes += n;
    return true;
}

/* Runs the compressor over in (NULL/0 with ZSTD_e_end to finish) and writes what it produces. */
static bool zstd_pump(b2p_file_sink *s, const void *in, size_t n, ZSTD_EndDirective mode) {
    ZSTD_inBuffer ib = {in, n, 0};
    for (;;) {
        ZSTD_outBuffer ob = {s->zbuf, s->zcap, 0};
        size_t left = ZSTD_compressStream2(s->z, &ob, &ib, mode);
        if (ZSTD_isError(left) || !raw_write(s, s->zbuf, ob.pos)) return false;
        if (mode == ZSTD_e_end ? left == 0 : ib.pos == ib.size) return true;
    }
}

b2p_status b2p_file_sink_open(b2p_file_sink *s, FILE *f, bool zstd, int level, b2p_error *err) {
    memset(s, 0, sizeof *s);
    b2p_sha256_init(&s->sha);
    s->f = f;
    if (!zstd) return B2P_OK;
    s->z = ZSTD_createCCtx();
    s->zcap = ZSTD_CStreamOutSize();
    s->zbuf = malloc(s->zcap);
    if (!s->z || !s->zbuf) return b2p_fail(err, B2P_ERR_NOMEM, "out of memory for zstd");
    ZSTD_CCtx_setParameter(s->z, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(s->z, ZSTD_c_nbWorkers, 2); /* ignored (error) by single-thread builds */
    ZSTD_CCtx_setParameter(s->z, ZSTD_c_checksumFlag, 1);
    return B2P_OK;
}

bool b2p_file_sink_write(void *ctx, const char *data, size_t len) {
    b2p_file_sink *s = ctx;
    if (s->failed) return false;
    bool ok = s->z ? zstd_pump(s, data, len, ZSTD_e_continue) : raw_write(s, data, len);
    s->failed = !ok;
    return ok;
}

b2p_status b2p_file_sink_close(b2p_file_sink *s, const char *path, char sha256_hex[65], b2p_error *err) {
    bool ok = !s->failed && (!s->z || zstd_pump(s, NULL, 0, ZSTD_e_end));
    ok = s->f && fclose(s->f) == 0 && ok;
    s->f = NULL;
    ZSTD_freeCCtx(s->z);
    free(s->zbuf);
    s->z = NULL;
    s->zbuf = NULL;
    b2p_sha256_hex(&s->sha, sha256_hex);
    return ok ? B2P_OK : b2p_fail(err, B2P_ERR_IO, "'%s': writing failed: %s", path, strerror(errno));
}
