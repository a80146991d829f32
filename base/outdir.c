/* Output directories (see base.h "output directories").
 *
 * Why a descriptor and *at() calls: every file is created relative to the directory opened
 * once, so that a path that changes underneath (a symbolic link put in place of a subdirectory)
 * cannot send a file elsewhere; O_NOFOLLOW and O_EXCL make sure a name that exists, as a file
 * or as a link, is never written through. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

static const char JOURNAL[] = ".bak2pg-files";

struct b2p_outdir {
    int fd;
    char *path;
    FILE *journal;           /* opened on the first file created */
};

/* mkdir -p */
static int make_dirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

b2p_status b2p_outdir_open(const char *path, b2p_outdir **out, b2p_error *err) {
    *out = NULL;
    if (make_dirs(path) != 0)
        return b2p_fail(err, B2P_ERR_IO, "'%s': cannot create the output directory: %s", b2p_shown(path), strerror(errno));
    b2p_outdir *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        free(d);
        return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->fd < 0) {
        b2p_status st = b2p_fail(err, B2P_ERR_IO, "'%s': cannot open the output directory: %s", b2p_shown(path), strerror(errno));
        b2p_outdir_close(d);
        return st;
    }
    *out = d;
    return B2P_OK;
}

void b2p_outdir_close(b2p_outdir *d) {
    if (!d) return;
    if (d->journal) fclose(d->journal);
    if (d->fd >= 0) close(d->fd);
    free(d->path);
    free(d);
}

const char *b2p_outdir_path(const b2p_outdir *d) {
    return d->path;
}

/* A name bak2pg writes: one or two components ("load.sql", "data/x.copy") of the characters
 * b2p_file_component and the fixed names use, none empty or starting with '.'. Anything else
 * (from a caller's bug, or a journal someone edited) is refused before it reaches the file
 * system. */
static bool valid_relname(const char *rel) {
    int components = 0;
    for (const char *p = rel;; p++) {
        size_t n = strcspn(p, "/");
        if (n == 0 || p[0] == '.' || ++components > 2) return false;
        for (size_t i = 0; i < n; i++) {
            char c = p[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("_-.%~", c)))
                return false;
        }
        p += n;
        if (!*p) return true;
    }
}

/* The directory holding rel (the output directory, or its subdirectory, created if needed,
 * never through a link) and rel's last component. Returns a descriptor to close unless it is
 * d->fd. */
static int parent_of(b2p_outdir *d, const char *rel, bool create, const char **leaf) {
    const char *slash = strchr(rel, '/');
    if (!slash) {
        *leaf = rel;
        return d->fd;
    }
    char sub[256];
    size_t n = (size_t)(slash - rel);
    if (n >= sizeof sub) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sub, rel, n);
    sub[n] = 0;
    if (create && mkdirat(d->fd, sub, 0777) != 0 && errno != EEXIST) return -1;
    *leaf = slash + 1;
    return openat(d->fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static b2p_status journal_add(b2p_outdir *d, const char *rel, b2p_error *err) {
    if (!d->journal) {
        int fd = openat(d->fd, JOURNAL, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 || !(d->journal = fdopen(fd, "a"))) {
            if (fd >= 0) close(fd);
            return b2p_fail(err, B2P_ERR_IO, "'%s/%s': cannot write: %s", b2p_shown(d->path), JOURNAL, strerror(errno));
        }
    }
    if (fprintf(d->journal, "%s\n", rel) < 0 || fflush(d->journal) != 0)
        return b2p_fail(err, B2P_ERR_IO, "'%s/%s': cannot write: %s", b2p_shown(d->path), JOURNAL, strerror(errno));
    return B2P_OK;
}

/* Creates rel exclusively; B2P_OK, or EEXIST in *exists (not an error yet), or an error. */
static b2p_status create_one(b2p_outdir *d, const char *rel, FILE **f, bool *exists, b2p_error *err) {
    *f = NULL;
    *exists = false;
    if (!valid_relname(rel))
        return b2p_fail(err, B2P_ERR_INTERNAL, "'%s': not a file name bak2pg writes", b2p_shown(rel));
    const char *leaf;
    int dirfd = parent_of(d, rel, true, &leaf);
    if (dirfd < 0)
        return b2p_fail(err, B2P_ERR_IO, "'%s/%s': cannot create: %s", b2p_shown(d->path), rel, strerror(errno));
    /* a file that exists (or a link by that name) is never written through */
    struct stat sb;
    if (fstatat(dirfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
        if (dirfd != d->fd) close(dirfd);
        *exists = true;
        return B2P_OK;
    }
    b2p_status st = journal_add(d, rel, err);
    int fd = st ? -1 : openat(dirfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    int saved = errno;
    if (dirfd != d->fd) close(dirfd);
    if (st) return st;
    if (fd < 0 && saved == EEXIST) {
        *exists = true;
        return B2P_OK;
    }
    if (fd < 0 || !(*f = fdopen(fd, "w"))) {
        if (fd >= 0) close(fd);
        return b2p_fail(err, B2P_ERR_IO, "'%s/%s': cannot create: %s", b2p_shown(d->path), rel, strerror(saved));
    }
    return B2P_OK;
}

b2p_status b2p_outdir_create(b2p_outdir *d, const char *relname, FILE **f, b2p_error *err) {
    bool exists;
    b2p_status st = create_one(d, relname, f, &exists, err);
    if (!st && exists)
        st = b2p_fail(err, B2P_ERR_IO, "'%s/%s' exists already: bak2pg never writes over a file (remove it, or "
                      "--clean to remove what an earlier bak2pg run wrote there)", b2p_shown(d->path), relname);
    return st;
}

b2p_status b2p_outdir_create_unique(b2p_outdir *d, const char *stem, const char *ext, FILE **f, b2p_buf *actual,
                                    b2p_error *err) {
    b2p_status st = B2P_OK;
    for (unsigned n = 1; n < 1000 && !st; n++) {
        char suffix[16] = "";
        if (n > 1) snprintf(suffix, sizeof suffix, "~%u", n);
        b2p_buf_clear(actual);
        st = b2p_buf_puts(actual, stem, err);
        if (!st) st = b2p_buf_puts(actual, suffix, err);
        if (!st) st = b2p_buf_puts(actual, ext, err);
        bool exists;
        if (!st) st = create_one(d, actual->data, f, &exists, err);
        if (!st && !exists) return B2P_OK;
    }
    return st ? st : b2p_fail(err, B2P_ERR_IO, "'%s/%s%s': a thousand files of that name exist already", b2p_shown(d->path), stem, ext);
}

b2p_status b2p_outdir_close_file(b2p_outdir *d, FILE *f, const char *relname, b2p_error *err) {
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0) failed = true;
    if (failed) return b2p_fail(err, B2P_ERR_IO, "'%s/%s': writing failed: %s", b2p_shown(d->path), relname, strerror(errno));
    return B2P_OK;
}

b2p_status b2p_outdir_first_entry(b2p_outdir *d, char *name, size_t len, b2p_error *err) {
    name[0] = 0;
    int fd = dup(d->fd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0) close(fd);
        return b2p_fail(err, B2P_ERR_IO, "'%s': cannot list: %s", b2p_shown(d->path), strerror(errno));
    }
    rewinddir(dir);
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, JOURNAL)) continue;
        snprintf(name, len, "%s", e->d_name);
        break;
    }
    closedir(dir);
    return B2P_OK;
}

/* Removes one journal entry's file (never through a link: unlinkat removes the link itself). */
static b2p_status remove_entry(b2p_outdir *d, const char *rel, b2p_error *err) {
    const char *leaf;
    int dirfd = parent_of(d, rel, false, &leaf);
    if (dirfd < 0) return errno == ENOENT ? B2P_OK : b2p_fail(err, B2P_ERR_IO, "'%s/%s': cannot remove: %s", b2p_shown(d->path), rel, strerror(errno));
    int rc = unlinkat(dirfd, leaf, 0), saved = errno;
    if (dirfd != d->fd) close(dirfd);
    if (rc != 0 && saved != ENOENT)
        return b2p_fail(err, B2P_ERR_IO, "'%s/%s': cannot remove: %s", b2p_shown(d->path), rel, strerror(saved));
    return B2P_OK;
}

b2p_status b2p_outdir_remove(b2p_outdir *d, const char *relname, b2p_error *err) {
    if (!valid_relname(relname))
        return b2p_fail(err, B2P_ERR_INTERNAL, "'%s': not a file name bak2pg writes", b2p_shown(relname));
    return remove_entry(d, relname, err);
}

b2p_status b2p_outdir_clean(b2p_outdir *d, b2p_error *err) {
    if (d->journal) {
        fclose(d->journal);
        d->journal = NULL;
    }
    int fd = openat(d->fd, JOURNAL, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? B2P_OK : b2p_fail(err, B2P_ERR_IO, "'%s/%s': cannot read: %s", b2p_shown(d->path), JOURNAL, strerror(errno));
    FILE *j = fdopen(fd, "r");
    if (!j) {
        close(fd);
        return b2p_fail(err, B2P_ERR_NOMEM, "out of memory");
    }
    /* the manifest first: once it is gone, nothing left behind looks like a finished run */
    b2p_status st = remove_entry(d, "manifest.json", err);
    char line[1024];
    unsigned lineno = 0;
    while (!st && fgets(line, sizeof line, j)) {
        lineno++;
        line[strcspn(line, "\n")] = 0;
        if (!valid_relname(line))
            st = b2p_fail(err, B2P_ERR_IO, "'%s/%s' line %u: '%s' is not a name bak2pg writes; nothing more removed",
                          b2p_shown(d->path), JOURNAL, lineno, b2p_shown(line));
        else
            st = remove_entry(d, line, err);
        const char *slash = strchr(line, '/');
        if (!st && slash) {
            char sub[256];
            snprintf(sub, sizeof sub, "%.*s", (int)(slash - line), line);
            unlinkat(d->fd, sub, AT_REMOVEDIR); /* once empty; "not empty" until its last file went */
        }
    }
    fclose(j);
    if (!st && unlinkat(d->fd, JOURNAL, 0) != 0 && errno != ENOENT)
        st = b2p_fail(err, B2P_ERR_IO, "'%s/%s': cannot remove: %s", b2p_shown(d->path), JOURNAL, strerror(errno));
    return st;
}
