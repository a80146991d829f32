/* Test support: a real, throwaway PostgreSQL 15 server (see pgserver.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "pgserver.h"
#include "fixtures.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#define PREFIX "b2p-pgtest-"
#define RUN_AS_USER "b2ptest"
#define MAX_SERVERS 8
#define STALE_AGE_SECONDS (6 * 3600)

extern char **environ;

/* Declared weak: present only when linked with a sanitizer runtime. */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

struct pgserver {
    char dir[128];      /* the temporary directory, also the socket directory */
    char datadir[160];  /* dir/data */
    char logfile[160];  /* dir/postgres.log */
    char sockpath[176]; /* dir/.s.PGSQL.<port> */
    char bindir[PATH_MAX];
    char user[64];
    char conninfo[512];
    int port;
    pid_t pid;   /* the postmaster */
    pid_t owner; /* the process that started it */
    bool drop;   /* run server programs as uid/gid (the harness runs as root) */
    uid_t uid;
    gid_t gid;
    int slot;
};

static char g_err[8192];
static pgserver *g_srv[MAX_SERVERS];
static volatile pid_t g_pm[MAX_SERVERS]; /* postmaster pids, read by the signal handler */
static volatile pid_t g_owner[MAX_SERVERS];
static bool g_hooks_installed;

static void set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_err(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
}

const char *pgserver_error(void) { return g_err; }

/* "exit status N" or "signal N" for a wait status. */
static const char *status_text(int st, char *buf, size_t len) {
    if (WIFEXITED(st))
        snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, len, "wait status %d", st);
    return buf;
}

/* ---- small helpers ---------------------------------------------------------------------- */

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_exec(const char *path) { return access(path, X_OK) == 0; }

/* pid is a live process (a zombie is not). Async-signal-safe. */
static bool process_exists(pid_t pid) {
    if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM)) return false;
#ifdef __linux__
    char path[64] = "/proc/", digits[24], buf[256];
    size_t nd = 0, k = 6;
    for (long v = (long)pid; v > 0 && nd < sizeof digits; v /= 10) digits[nd++] = (char)('0' + v % 10);
    while (nd > 0) path[k++] = digits[--nd];
    memcpy(path + k, "/stat", 6);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return true;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return true;
    buf[n] = 0;
    const char *paren = strrchr(buf, ')'); /* "pid (comm) S ..." */
    if (paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X')) return false;
#endif
    return true;
}

/* Waits up to timeout_ms for pid (our child, or not) to be gone. Returns true when it is, with
 * its wait status in *status when we reaped it (else *status = -1). Async-signal-safe. */
static bool wait_gone(pid_t pid, long timeout_ms, int *status) {
    *status = -1;
    for (long waited = 0;; waited += 10) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            *status = st;
            return true;
        }
        if (r == -1 && !process_exists(pid)) return true; /* not our child, or reaped elsewhere */
        if (waited >= timeout_ms) return false;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The last maxlen bytes of a file, for error messages. */
static void file_tail(const char *path, char *out, size_t maxlen) {
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > (long)maxlen - 1 ? size - ((long)maxlen - 1) : 0;
        if (fseek(f, from, SEEK_SET) == 0) {
            size_t n = fread(out, 1, maxlen - 1, f);
            out[n] = 0;
        }
    }
    fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* rm -rf dir; 0 if it is gone. */
static int rm_rf(const char *dir) {
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    struct stat st;
    return lstat(dir, &st) == 0 ? -1 : 0;
}

/* The environment for child programs: ours without PG* and locale variables, plus LC_ALL=C
 * (so that messages are in English) and PGCLIENTENCODING=UTF8 (psql's default would follow the
 * C locale: SQL_ASCII). The strings are environ's own; free the array only. */
static char **child_env(void) {
    size_t n = 0;
    while (environ && environ[n]) n++;
    char **env = calloc(n + 3, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        if (!strncmp(e, "PG", 2) || !strncmp(e, "LC_", 3) || !strncmp(e, "LANG=", 5) ||
            !strncmp(e, "LANGUAGE=", 9))
            continue;
        env[k++] = environ[i];
    }
    env[k++] = (char *)"LC_ALL=C";
    env[k++] = (char *)"PGCLIENTENCODING=UTF8";
    env[k] = NULL;
    return env;
}

typedef struct spawn_opts {
    int out_fd;           /* stdout and stderr go here if >= 0 ... */
    const char *out_path; /* ... or to this file (opened, appending, after dropping privileges) */
    const char *cwd;
    bool drop;
    uid_t uid;
    gid_t gid;
    bool own_group;   /* setpgid(0, 0) */
    int pdeath_signal; /* sent to the child when the harness dies (Linux), 0: none */
} spawn_opts;

static void child_fail(const char *what) {
    char msg[256];
    snprintf(msg, sizeof msg, "pgserver child: %s: %s\n", what, strerror(errno));
    if (write(2, msg, strlen(msg)) < 0) {
    }
    _exit(127);
}

/* fork + exec argv[0] with envp; -1 on failure (message set). */
static pid_t spawn(char *const argv[], char *const envp[], const spawn_opts *o) {
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        set_err("pgserver: fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0) return pid;
    /* child: only system calls from here on */
    if (o->own_group) setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        dup2(devnull, 0);
        if (devnull > 2) close(devnull);
    }
    if (o->out_fd >= 0) {
        dup2(o->out_fd, 1);
        dup2(o->out_fd, 2);
        if (o->out_fd > 2) close(o->out_fd);
    }
    if (o->drop) {
        if (setgroups(1, &o->gid) != 0) child_fail("setgroups");
        if (setgid(o->gid) != 0) child_fail("setgid");
        if (setuid(o->uid) != 0) child_fail("setuid");
    }
    if (o->out_path) {
        int fd = open(o->out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0) child_fail(o->out_path);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2) close(fd);
    }
    if (o->cwd && chdir(o->cwd) != 0) child_fail(o->cwd);
#ifdef __linux__
    /* After the credential change (which clears it) and before exec. */
    if (o->pdeath_signal) {
        prctl(PR_SET_PDEATHSIG, o->pdeath_signal);
        if (getppid() != parent) _exit(127); /* the harness died already */
    }
#else
    (void)parent;
#endif
    execve(argv[0], argv, envp);
    child_fail(argv[0]);
    return -1;
}

/* Runs argv to completion with stdout+stderr captured into *out (malloc'd, NUL-terminated, may
 * be NULL). Returns the exit status, 128+signal, or -1. */
static int run_capture(char *const argv[], char **out) {
    if (out) *out = NULL;
    int fds[2];
    if (pipe(fds) != 0) {
        set_err("pgserver: pipe: %s", strerror(errno));
        return -1;
    }
    char **env = child_env();
    spawn_opts o = {.out_fd = fds[1], .pdeath_signal = SIGTERM};
    pid_t pid = env ? spawn(argv, env, &o) : -1;
    free(env);
    close(fds[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        char tmp[4096];
        ssize_t n = read(fds[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (buf && len + (size_t)n + 1 > cap) {
            while (len + (size_t)n + 1 > cap) cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
            }
        }
        if (buf) {
            memcpy(buf + len, tmp, (size_t)n);
            len += (size_t)n;
        }
    }
    close(fds[0]);
    if (buf) buf[len] = 0;
    if (pid < 0) {
        free(buf);
        return -1;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            set_err("pgserver: waitpid(%s): %s", argv[0], strerror(errno));
            free(buf);
            return -1;
        }
    }
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- finding PostgreSQL, the user to run it as ------------------------------------------ */

static bool find_bindir(char *out, size_t len) {
    const char *env = getenv("B2P_PG_BINDIR");
    char p[PATH_MAX + 32];
    if (env && *env) {
        snprintf(out, len, "%s", env);
        snprintf(p, sizeof p, "%s/postgres", out);
        if (is_exec(p)) return true;
        set_err("pgserver: B2P_PG_BINDIR=%s has no executable postgres", env);
        return false;
    }
    if (is_exec("/usr/lib/postgresql/15/bin/postgres") && is_exec("/usr/lib/postgresql/15/bin/initdb")) {
        snprintf(out, len, "/usr/lib/postgresql/15/bin");
        return true;
    }
    const char *path = getenv("PATH");
    if (path) {
        const char *s = path;
        while (*s) {
            size_t n = strcspn(s, ":");
            if (n > 0 && n < PATH_MAX) {
                snprintf(p, sizeof p, "%.*s/initdb", (int)n, s);
                char real[PATH_MAX];
                if (is_exec(p) && realpath(p, real)) {
                    char *slash = strrchr(real, '/');
                    *slash = 0;
                    snprintf(p, sizeof p, "%s/postgres", real);
                    if (is_exec(p)) {
                        snprintf(out, len, "%s", real);
                        return true;
                    }
                }
            }
            s += n;
            if (*s == ':') s++;
        }
    }
    set_err("pgserver: no PostgreSQL 15 server binaries: /usr/lib/postgresql/15/bin/postgres is missing "
            "and no initdb on PATH (install postgresql-15: make deps; or set B2P_PG_BINDIR)");
    return false;
}

static bool lookup_user(const char *name, pgserver *s) {
    struct passwd *pw = getpwnam(name);
    if (!pw) return false;
    s->uid = pw->pw_uid;
    s->gid = pw->pw_gid;
    snprintf(s->user, sizeof s->user, "%s", pw->pw_name);
    return true;
}

/* Root: the unprivileged user that runs initdb and postgres, created if missing. */
static bool choose_user(pgserver *s) {
    if (geteuid() != 0) {
        struct passwd *pw = getpwuid(geteuid());
        if (!pw) {
            set_err("pgserver: the current uid %u has no user name (initdb needs one)", (unsigned)geteuid());
            return false;
        }
        snprintf(s->user, sizeof s->user, "%s", pw->pw_name);
        s->drop = false;
        return true;
    }
    s->drop = true;
    if (lookup_user(RUN_AS_USER, s)) return true;
    const char *useradd = is_exec("/usr/sbin/useradd") ? "/usr/sbin/useradd" : "/sbin/useradd";
    char *argv[] = {(char *)useradd,    "--system",        "--no-create-home", "--home-dir",
                    "/nonexistent",     "--shell",         "/usr/sbin/nologin", "--user-group",
                    "--comment",        "bak2pg test PostgreSQL", (char *)RUN_AS_USER, NULL};
    char *out = NULL;
    int rc = is_exec(useradd) ? run_capture(argv, &out) : -1;
    /* rc 9: created meanwhile by another test program */
    if (lookup_user(RUN_AS_USER, s)) {
        free(out);
        return true;
    }
    fprintf(stderr, "pgserver: could not create user %s (useradd: %d %s); using nobody\n", RUN_AS_USER, rc,
            out ? out : "");
    free(out);
    if (lookup_user("nobody", s)) return true;
    set_err("pgserver: running as root, and neither user %s nor nobody exists", RUN_AS_USER);
    return false;
}

/* Where the temporary directories go: $TMPDIR when usable (not root, short enough for a socket
 * path), else /tmp. */
static const char *base_dir(void) {
    const char *t = getenv("TMPDIR");
    struct stat st;
    if (geteuid() != 0 && t && *t == '/' && strlen(t) <= 60 && !strpbrk(t, " \t\n'\"\\") && stat(t, &st) == 0 &&
        S_ISDIR(st.st_mode))
        return t;
    return "/tmp";
}

/* ---- stale servers ---------------------------------------------------------------------- */

/* Kills a postmaster left behind in dir by a harness that is gone, and removes dir. */
static void clean_stale_dir(const char *dir) {
    char p[PATH_MAX + 32], data[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/data/postmaster.pid", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    FILE *f = fopen(p, "r");
    long pm = 0;
    if (f) {
        if (fscanf(f, "%ld", &pm) != 1) pm = 0;
        fclose(f);
    }
    if (pm > 0 && process_exists((pid_t)pm)) {
        /* Ours only: the postmaster's working directory is its data directory. */
        char link[64], cwd[PATH_MAX];
        snprintf(link, sizeof link, "/proc/%ld/cwd", pm);
        ssize_t n = readlink(link, cwd, sizeof cwd - 1);
        if (n > 0) {
            cwd[n] = 0;
            if (strcmp(cwd, data) == 0) {
                fprintf(stderr, "pgserver: stopping stale server %ld in %s\n", pm, dir);
                kill((pid_t)pm, SIGQUIT);
                int st;
                if (!wait_gone((pid_t)pm, 5000, &st)) {
                    kill(-(pid_t)pm, SIGKILL);
                    kill((pid_t)pm, SIGKILL);
                    wait_gone((pid_t)pm, 5000, &st);
                }
            } else {
                return; /* a pid reused by something else, or not readable: leave it */
            }
        } else {
            return;
        }
    }
    rm_rf(dir);
}

static void clean_stale_in(const char *base) {
    DIR *d = opendir(base);
    if (!d) return;
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0) continue;
        long owner = strtol(e->d_name + strlen(PREFIX), NULL, 10);
        if (owner <= 0 || owner == (long)getpid()) continue;
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
        struct stat st;
        if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        bool old = now - st.st_mtime > STALE_AGE_SECONDS;
        if (process_exists((pid_t)owner) && !old) continue;
        clean_stale_dir(dir);
    }
    closedir(d);
}

void pgserver_clean_stale(void) {
    const char *base = base_dir();
    clean_stale_in(base);
    if (strcmp(base, "/tmp") != 0) clean_stale_in("/tmp");
}

/* ---- cleanup hooks ---------------------------------------------------------------------- */

/* Async-signal-safe: immediate shutdown of every server this process started. */
static void emergency_stop(void) {
    pid_t self = getpid();
    for (int i = 0; i < MAX_SERVERS; i++)
        if (g_pm[i] > 0 && g_owner[i] == self) kill(g_pm[i], SIGQUIT);
    for (int i = 0; i < MAX_SERVERS; i++) {
        pid_t pm = g_pm[i];
        if (pm <= 0 || g_owner[i] != self) continue;
        int st;
        if (!wait_gone(pm, 3000, &st)) kill(-pm, SIGKILL);
        g_pm[i] = 0;
    }
}

static void on_signal(int sig) {
    emergency_stop();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_sanitizer_death(void) { emergency_stop(); }

static void at_exit(void) {
    for (int i = 0; i < MAX_SERVERS; i++)
        if (g_srv[i] && g_srv[i]->owner == getpid()) pgserver_stop(g_srv[i]);
}

static void install_hooks(void) {
    if (g_hooks_installed) return;
    g_hooks_installed = true;
    atexit(at_exit);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
    if (__sanitizer_set_death_callback) {
        __sanitizer_set_death_callback(on_sanitizer_death);
        /* GCC links UBSan as a runtime of its own, with its own callback. */
        void *ubsan = dlopen("libubsan.so.1", RTLD_LAZY | RTLD_NOLOAD);
        if (ubsan) {
            void (*set)(void (*)(void));
            *(void **)&set = dlsym(ubsan, "__sanitizer_set_death_callback");
            if (set) set(on_sanitizer_death);
            dlclose(ubsan);
        }
    }
}

/* ---- start / stop ----------------------------------------------------------------------- */

static int start_fail(pgserver *s, const char *log) {
    if (log) {
        char tail[3000];
        file_tail(log, tail, sizeof tail);
        size_t len = strlen(g_err);
        snprintf(g_err + len, sizeof g_err - len, "\n--- %s (tail) ---\n%s", log, tail);
    }
    if (s->pid > 0) {
        int st;
        kill(s->pid, SIGQUIT);
        if (!wait_gone(s->pid, 5000, &st)) {
            kill(-s->pid, SIGKILL);
            wait_gone(s->pid, 5000, &st);
        }
        g_pm[s->slot] = 0;
    }
    if (s->dir[0]) rm_rf(s->dir);
    g_srv[s->slot] = NULL;
    free(s);
    return -1;
}

pgserver *pgserver_start(void) {
    g_err[0] = 0;
    int slot = -1;
    for (int i = 0; i < MAX_SERVERS && slot < 0; i++)
        if (!g_srv[i]) slot = i;
    if (slot < 0) {
        set_err("pgserver: more than %d servers at once", MAX_SERVERS);
        return NULL;
    }
    pgserver *s = calloc(1, sizeof *s);
    if (!s) {
        set_err("pgserver: out of memory");
        return NULL;
    }
    s->slot = slot;
    s->owner = getpid();
    g_srv[slot] = s;
    install_hooks();
    if (!find_bindir(s->bindir, sizeof s->bindir) || !choose_user(s)) {
        start_fail(s, NULL);
        return NULL;
    }

    pgserver_clean_stale();
    const char *base = base_dir();

    snprintf(s->dir, sizeof s->dir, "%s/" PREFIX "%ld-XXXXXX", base, (long)getpid());
    if (!mkdtemp(s->dir)) {
        set_err("pgserver: mkdtemp %s: %s", s->dir, strerror(errno));
        s->dir[0] = 0;
        start_fail(s, NULL);
        return NULL;
    }
    if (s->drop && chown(s->dir, s->uid, s->gid) != 0) {
        set_err("pgserver: chown %s to %s: %s", s->dir, s->user, strerror(errno));
        start_fail(s, NULL);
        return NULL;
    }
    snprintf(s->datadir, sizeof s->datadir, "%s/data", s->dir);
    snprintf(s->logfile, sizeof s->logfile, "%s/postgres.log", s->dir);
    s->port = 20000 + (int)(getpid() % 40000);
    snprintf(s->sockpath, sizeof s->sockpath, "%s/.s.PGSQL.%d", s->dir, s->port);
    snprintf(s->conninfo, sizeof s->conninfo, "host=%s port=%d dbname=postgres user=%s", s->dir, s->port,
             s->user);

    char **env = child_env();
    if (!env) {
        set_err("pgserver: out of memory");
        start_fail(s, NULL);
        return NULL;
    }
    spawn_opts o = {.out_fd = -1, .cwd = s->dir, .drop = s->drop, .uid = s->uid, .gid = s->gid,
                    .pdeath_signal = SIGQUIT};

    /* initdb */
    char initdb[PATH_MAX + 16], initlog[200];
    snprintf(initdb, sizeof initdb, "%s/initdb", s->bindir);
    snprintf(initlog, sizeof initlog, "%s/initdb.log", s->dir);
    o.out_path = initlog;
    char *iargv[] = {initdb, "-D", s->datadir, "-A", "trust", "-E", "UTF8", "--locale=C", "-N",
                     "-U", s->user, "--no-instructions", NULL};
    pid_t ipid = spawn(iargv, env, &o);
    int st = 0;
    if (ipid > 0) {
        while (waitpid(ipid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    if (ipid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char why[64];
        if (ipid > 0) set_err("pgserver: initdb failed (%s) as user %s", status_text(st, why, sizeof why), s->user);
        free(env);
        start_fail(s, initlog);
        return NULL;
    }
    char vpath[200], version[16] = "";
    snprintf(vpath, sizeof vpath, "%s/PG_VERSION", s->datadir);
    file_tail(vpath, version, sizeof version);
    if (strncmp(version, "15\n", 3) != 0) {
        set_err("pgserver: %s made a PostgreSQL %.*s cluster; the tests need PostgreSQL 15", initdb,
                (int)strcspn(version, "\n"), version);
        free(env);
        start_fail(s, NULL);
        return NULL;
    }

    /* postgres, in its own process group, told to shut down at once if the harness dies */
    char postgres[PATH_MAX + 16], port[16];
    snprintf(postgres, sizeof postgres, "%s/postgres", s->bindir);
    snprintf(port, sizeof port, "%d", s->port);
    o.out_path = s->logfile;
    o.own_group = true;
    char *pargv[] = {postgres, "-D", s->datadir, "-p", port, "-k", s->dir,
                     "-c", "listen_addresses=",
                     "-c", "unix_socket_permissions=0700",
                     "-c", "fsync=off",
                     "-c", "full_page_writes=off",
                     "-c", "synchronous_commit=off",
                     "-c", "wal_level=minimal",
                     "-c", "max_wal_senders=0",
                     "-c", "shared_buffers=32MB",
                     "-c", "max_connections=40",
                     "-c", "autovacuum=off",
                     "-c", "TimeZone=UTC",
                     "-c", "lc_messages=C",
                     NULL};
    s->pid = spawn(pargv, env, &o);
    free(env);
    if (s->pid < 0) {
        s->pid = 0;
        start_fail(s, NULL);
        return NULL;
    }
    g_owner[slot] = s->owner;
    g_pm[slot] = s->pid;

    /* wait until it accepts connections */
    double t0 = now_s(), limit = 60.0;
    for (int tries = 0;; tries++) {
        PGPing ping = PQping(s->conninfo);
        if (ping == PQPING_OK) break;
        int wst;
        if (waitpid(s->pid, &wst, WNOHANG) == s->pid) {
            char why[64];
            set_err("pgserver: postgres exited during start-up (%s)", status_text(wst, why, sizeof why));
            s->pid = 0;
            g_pm[slot] = 0;
            start_fail(s, s->logfile);
            return NULL;
        }
        if (ping == PQPING_NO_ATTEMPT) {
            set_err("pgserver: bad conninfo \"%s\"", s->conninfo);
            start_fail(s, s->logfile);
            return NULL;
        }
        if (now_s() - t0 > limit) {
            set_err("pgserver: postgres did not accept connections within %.0f s (%d tries) on %s", limit,
                    tries + 1, s->sockpath);
            start_fail(s, s->logfile);
            return NULL;
        }
        sleep_ms(tries < 50 ? 10 : 100);
    }
    return s;
}

static bool registered(const pgserver *s) {
    for (int i = 0; i < MAX_SERVERS; i++)
        if (s && g_srv[i] == s) return true;
    return false;
}

int pgserver_stop(pgserver *s) {
    if (!registered(s)) return 0; /* NULL, or stopped already */
    int rc = 0;
    if (s->owner != getpid()) return -1; /* a forked child: not its server */
    if (s->pid > 0) {
        int st;
        kill(s->pid, SIGINT); /* fast shutdown */
        if (!wait_gone(s->pid, 30000, &st)) {
            fprintf(stderr, "pgserver: fast shutdown of %ld timed out; immediate shutdown\n", (long)s->pid);
            kill(s->pid, SIGQUIT);
            rc = -1;
            if (!wait_gone(s->pid, 10000, &st)) {
                kill(-s->pid, SIGKILL);
                kill(s->pid, SIGKILL);
                wait_gone(s->pid, 10000, &st);
            }
        } else if (st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            char why[64];
            set_err("pgserver: postgres ended with %s on fast shutdown", status_text(st, why, sizeof why));
            rc = -1;
        }
        /* any backend still around (it should not be) */
        if (kill(-s->pid, 0) == 0) kill(-s->pid, SIGKILL);
        g_pm[s->slot] = 0;
        s->pid = 0;
    }
    if (s->dir[0] && rm_rf(s->dir) != 0) {
        set_err("pgserver: could not remove %s", s->dir);
        rc = -1;
    }
    g_srv[s->slot] = NULL;
    free(s);
    return rc;
}

/* ---- accessors -------------------------------------------------------------------------- */

const char *pgserver_conninfo(const pgserver *s) { return s->conninfo; }
const char *pgserver_socket_dir(const pgserver *s) { return s->dir; }
const char *pgserver_socket_path(const pgserver *s) { return s->sockpath; }
const char *pgserver_datadir(const pgserver *s) { return s->datadir; }
const char *pgserver_logfile(const pgserver *s) { return s->logfile; }
const char *pgserver_bindir(const pgserver *s) { return s->bindir; }
const char *pgserver_user(const pgserver *s) { return s->user; }
int pgserver_port(const pgserver *s) { return s->port; }
pid_t pgserver_pid(const pgserver *s) { return s->pid; }

const char *pgserver_conninfo_db(const pgserver *s, const char *dbname, char *buf, size_t len) {
    if (!dbname) dbname = "postgres";
    /* quoted as a conninfo value: 'name' with \ and ' escaped */
    char q[256];
    size_t k = 0;
    for (const char *p = dbname; *p && k + 3 < sizeof q; p++) {
        if (*p == '\\' || *p == '\'') q[k++] = '\\';
        q[k++] = *p;
    }
    q[k] = 0;
    bool plain = k == strlen(dbname) && strcspn(dbname, " \t\n=") == k && k > 0;
    if (plain)
        snprintf(buf, len, "host=%s port=%d dbname=%s user=%s", s->dir, s->port, dbname, s->user);
    else
        snprintf(buf, len, "host=%s port=%d dbname='%s' user=%s", s->dir, s->port, q, s->user);
    return buf;
}

/* ---- SQL -------------------------------------------------------------------------------- */

/* NOTICEs (such as DROP DATABASE IF EXISTS's) are noise in test output; the rest is shown. */
static void notice_processor(void *arg, const char *message) {
    (void)arg;
    if (strncmp(message, "NOTICE:", 7) != 0) fputs(message, stderr);
}

PGconn *pgserver_connect(const pgserver *s, const char *dbname) {
    char ci[1024];
    pgserver_conninfo_db(s, dbname, ci, sizeof ci);
    PGconn *c = PQconnectdb(ci);
    if (!c) {
        set_err("pgserver: out of memory connecting to %s", ci);
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        set_err("pgserver: connect \"%s\": %s", ci, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, notice_processor, NULL);
    return c;
}

static void sql_err(PGconn *conn, const PGresult *r, const char *sql) {
    const char *msg = r ? PQresultErrorMessage(r) : "";
    if (!*msg) msg = PQerrorMessage(conn);
    set_err("pgserver: %.300s%s: %s", sql, strlen(sql) > 300 ? "..." : "", msg);
}

int pgserver_exec_conn(PGconn *conn, const char *sql) {
    PGresult *r = PQexec(conn, sql);
    ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK || t == PGRES_EMPTY_QUERY) {
        PQclear(r);
        return 0;
    }
    sql_err(conn, r, sql);
    if (t == PGRES_COPY_IN) PQputCopyEnd(conn, "not a COPY helper");
    PQclear(r);
    while ((r = PQgetResult(conn))) PQclear(r);
    return -1;
}

int pgserver_exec(const pgserver *s, const char *dbname, const char *sql) {
    PGconn *c = pgserver_connect(s, dbname);
    if (!c) return -1;
    int rc = pgserver_exec_conn(c, sql);
    PQfinish(c);
    return rc;
}

long pgserver_query_long(const pgserver *s, const char *dbname, const char *sql) {
    PGconn *c = pgserver_connect(s, dbname);
    if (!c) return -1;
    PGresult *r = PQexec(c, sql);
    long n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return n;
}

int pgserver_create_db(pgserver *s, const char *name) {
    PGconn *c = pgserver_connect(s, NULL);
    if (!c) return -1;
    char *id = PQescapeIdentifier(c, name, strlen(name));
    if (!id) {
        set_err("pgserver: bad database name \"%s\": %s", name, PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    char sql[1024];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", id);
    int rc = pgserver_exec_conn(c, sql);
    if (rc == 0) {
        snprintf(sql, sizeof sql,
                 "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'", id);
        rc = pgserver_exec_conn(c, sql);
    }
    PQfreemem(id);
    PQfinish(c);
    return rc;
}

int pgserver_copy_in(PGconn *conn, const char *copy_sql, const void *data, size_t len) {
    PGresult *r = PQexec(conn, copy_sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        sql_err(conn, r, copy_sql);
        PQclear(r);
        while ((r = PQgetResult(conn))) PQclear(r);
        return -1;
    }
    PQclear(r);
    const char *p = data;
    const size_t chunk = 64 * 1024;
    int ok = 1;
    for (size_t off = 0; off < len && ok == 1; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        ok = PQputCopyData(conn, p + off, (int)n);
    }
    if (ok == 1) ok = PQputCopyEnd(conn, NULL);
    else
        PQputCopyEnd(conn, "pgserver: sending failed");
    int rc = ok == 1 ? 0 : -1;
    if (rc) sql_err(conn, NULL, copy_sql);
    while ((r = PQgetResult(conn))) {
        if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK) {
            sql_err(conn, r, copy_sql);
            rc = -1;
        }
        PQclear(r);
    }
    return rc;
}

char *pgserver_copy_out(PGconn *conn, const char *copy_sql, size_t *len) {
    *len = 0;
    PGresult *r = PQexec(conn, copy_sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_OUT) {
        sql_err(conn, r, copy_sql);
        PQclear(r);
        while ((r = PQgetResult(conn))) PQclear(r);
        return NULL;
    }
    PQclear(r);
    size_t cap = 4096, n = 0;
    char *out = malloc(cap);
    bool failed = out == NULL;
    for (;;) {
        char *row = NULL;
        int k = PQgetCopyData(conn, &row, 0);
        if (k < 0) {
            if (k == -2) failed = true;
            break;
        }
        if (!failed && n + (size_t)k + 1 > cap) {
            while (n + (size_t)k + 1 > cap) cap *= 2;
            char *nb = realloc(out, cap);
            if (nb)
                out = nb;
            else
                failed = true;
        }
        if (!failed) {
            memcpy(out + n, row, (size_t)k);
            n += (size_t)k;
        }
        PQfreemem(row);
    }
    if (failed) sql_err(conn, NULL, copy_sql);
    while ((r = PQgetResult(conn))) {
        if (!failed && PQresultStatus(r) != PGRES_COMMAND_OK) {
            sql_err(conn, r, copy_sql);
            failed = true;
        }
        PQclear(r);
    }
    if (failed) {
        free(out);
        return NULL;
    }
    out[n] = 0;
    *len = n;
    return out;
}

int pgserver_psql_file(const pgserver *s, const char *dbname, const char *file, char **output) {
    char psql[PATH_MAX + 16], ci[1024];
    snprintf(psql, sizeof psql, "%s/psql", s->bindir);
    if (!is_exec(psql)) snprintf(psql, sizeof psql, "/usr/bin/psql");
    pgserver_conninfo_db(s, dbname, ci, sizeof ci);
    char *argv[] = {psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ci, "-f", (char *)file, NULL};
    int rc = run_capture(argv, output);
    if (rc != 0 && output && *output) set_err("pgserver: psql -f %s: status %d: %s", file, rc, *output);
    return rc;
}

/* ---- one server per program ------------------------------------------------------------ */

static pgserver *g_shared;

pgserver *pgserver_get(void) {
    if (!registered(g_shared) || g_shared->owner != getpid()) g_shared = pgserver_start();
    return g_shared;
}

/* ---- cmocka ----------------------------------------------------------------------------- */

int pgserver_group_setup(void **state) {
    pgserver *s = pgserver_start();
    if (!s) {
        fprintf(stderr, "%s\n", pgserver_error());
        return -1;
    }
    *state = s;
    return 0;
}

int pgserver_group_teardown(void **state) {
    int rc = pgserver_stop(*state);
    *state = NULL;
    if (rc) fprintf(stderr, "pgserver: stop: %s\n", pgserver_error());
    return rc;
}

int pgserver_test_setup(const char *prefix, char *tmpdir, size_t len, pgserver **server) {
    *server = NULL;
    if (tmpdir_make(tmpdir, len, prefix)) {
        fprintf(stderr, "%s: cannot make a temporary directory\n", prefix);
        return -1;
    }
    *server = pgserver_start();
    if (!*server) fprintf(stderr, "%s: %s\n", prefix, pgserver_error());
    return *server ? 0 : -1;
}

int pgserver_test_teardown(pgserver *server, const char *tmpdir) {
    int rc = server ? pgserver_stop(server) : 0;
    return tmpdir_remove(tmpdir) == 0 && rc == 0 ? 0 : -1;
}
