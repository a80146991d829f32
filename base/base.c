/* Status names and the error context (see base.h). */
#include "base.h"

#include <stdio.h>
#include <string.h>

b2p_status b2p_fail(b2p_error *err, b2p_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *b2p_status_name(b2p_status code) {
    static const char *const names[] = {
        [B2P_OK] = "ok",
        [B2P_ERR_FAILED] = "check failed",
        [B2P_ERR_USAGE] = "usage",
        [B2P_ERR_IO] = "i/o error",
        [B2P_ERR_NOT_BACKUP] = "not a backup",
        [B2P_ERR_TRUNCATED] = "truncated",
        [B2P_ERR_CORRUPT] = "corrupt",
        [B2P_ERR_MISSING_STRIPE] = "missing stripe",
        [B2P_ERR_LOG_BACKUP] = "log backup",
        [B2P_ERR_NEEDS_FULL] = "differential without full",
        [B2P_ERR_ENCRYPTED] = "encrypted",
        [B2P_ERR_TDE] = "tde",
        [B2P_ERR_COMPRESSION] = "unsupported compression",
        [B2P_ERR_NOMEM] = "out of memory",
        [B2P_ERR_UNSUPPORTED] = "unsupported",
        [B2P_ERR_NOT_FOUND] = "not found",
        [B2P_ERR_INTERNAL] = "internal error",
        [B2P_ERR_PG_CONNECT] = "cannot connect",
        [B2P_ERR_PG_AUTH] = "authentication failed",
        [B2P_ERR_PG_READONLY] = "read-only target",
        [B2P_ERR_PG_SQL] = "refused by PostgreSQL",
        [B2P_ERR_PARTIAL] = "completed with failed tables",
    };
    _Static_assert(sizeof names / sizeof names[0] == B2P_ERR_PARTIAL + 1, "a status has no name");
    if ((unsigned)code < sizeof names / sizeof names[0] && names[code]) return names[code];
    return "unknown";
}

void b2p_error_name_file(b2p_error *err, const char *path) {
    if (!err || !path || !*path || strstr(err->msg, path)) return;
    size_t path_len = strlen(path), prefix = path_len + 4; /* '<path>':<space> */
    if (prefix >= sizeof err->msg) return;
    size_t msg_len = strlen(err->msg);
    if (msg_len > sizeof err->msg - 1 - prefix) msg_len = sizeof err->msg - 1 - prefix;
    memmove(err->msg + prefix, err->msg, msg_len);
    err->msg[prefix + msg_len] = 0;
    err->msg[0] = '\'';
    memcpy(err->msg + 1, path, path_len);
    memcpy(err->msg + 1 + path_len, "': ", 3);
}
