/* bak2pg info: what RESTORE HEADERONLY and FILELISTONLY would show; --check reads every page.
 * Every name from the backup (and the file names given) is shown through b2p_shown: one line,
 * escaped, whatever it holds. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"

static const char USAGE[] =
    "usage: bak2pg info [options] FILE...\n"
    "\n"
    "Describes SQL Server backup files, as RESTORE HEADERONLY and RESTORE FILELISTONLY would:\n"
    "for each file its container and stripe, for each backup set in it the type, database,\n"
    "server, versions, collation, LSNs, dates, GUID, compression and checksums, then the\n"
    "database files it holds. Give every stripe of a striped backup (in any order); files given\n"
    "together must be parts of one backup (stripes, a full with its differentials and logs).\n"
    "\n"
    "options:\n"
    "  --check                  also read every page of the backup set (the last full, or\n"
    "                           --backup-set) and verify page checksums, torn-page bits, the\n"
    "                           backup's own checksums, and that every page the allocation\n"
    "                           maps (PFS) mark allocated is there; exit 1 if anything is bad,\n"
    "                           each bad or missing page named\n"
    "  --backup-set N           with --check: the backup set at position N (FILE = N)\n"
    "  --allow-missing-stripes  read what is there when stripe files are missing (salvage)\n"
    "  --json                   one JSON document on stdout instead of text\n"
    "  -h, --help               this help\n"
    "\n"
    "backups under transparent data encryption (TDE) show the certificate thumbprint their key\n"
    "is protected by; pages and log need that key (exit 11). To check the key material:\n"
    "  --tde-cert FILE          the server certificate (DER, from BACKUP CERTIFICATE): must be\n"
    "                           the one the backup names\n"
    "  --tde-key FILE           its private key (PVK); then the backup's encrypted database key\n"
    "                           is decrypted with it (and never shown)\n"
    "  --tde-password-file FILE the private key's password, the file's first line; else the\n"
    "                           environment variable B2P_TDE_PASSWORD (never on the command line)\n"
    "\n"
    "examples:\n"
    "  bak2pg info Northwind.bak\n"
    "  bak2pg info --check --json part1.bak part2.bak\n"
    "  bak2pg info --tde-cert server.cer --tde-key server.pvk --tde-password-file pw.txt log.bak\n";
const char *const cli_info_usage = USAGE;

typedef struct info_opts {
    bool json, check, allow_missing;
    int backup_set;
    const char *tde_cert, *tde_key, *tde_password_file;
} info_opts;

typedef struct bad_pages {
    unsigned printed;
} bad_pages;

enum { MAX_BAD_PRINTED = 50 };

static void on_bad_page(void *ctx, const char *path, uint64_t offset, uint16_t file_id,
                        uint32_t page_id, const char *why) {
    bad_pages *b = ctx;
    if (b->printed++ >= MAX_BAD_PRINTED) return;
    if (page_id || file_id)
        fprintf(stderr, "bak2pg: '%s': offset %llu: page %u:%u: %s\n", b2p_shown(path),
                (unsigned long long)offset, file_id, page_id, why);
    else
        fprintf(stderr, "bak2pg: '%s': offset %llu: %s\n", b2p_shown(path), (unsigned long long)offset, why);
}

static const char *file_type_name(char t) {
    switch (t) {
    case 'D': return "data";
    case 'L': return "log";
    case 'F': return "full-text";
    case 'S': return "filestream";
    default: return "unknown";
    }
}

static void print_set_text(const b2p_set_info *s) {
    char a[64], b[64];
    printf("\nBackup set %u\n", s->position);
    printf("  %-22s %s%s\n", "type", b2p_backup_type_name(s->type), s->copy_only ? " (copy-only)" : "");
    if (s->backup_name[0]) printf("  %-22s %s\n", "name", b2p_shown(s->backup_name));
    if (s->description[0]) printf("  %-22s %s\n", "description", b2p_shown(s->description));
    printf("  %-22s %s\n", "database", b2p_shown(s->database_name));
    printf("  %-22s %s\n", "server", b2p_shown(s->server_name));
    if (s->machine_name[0]) printf("  %-22s %s\n", "machine", b2p_shown(s->machine_name));
    if (s->user_name[0]) printf("  %-22s %s\n", "user", b2p_shown(s->user_name));
    printf("  %-22s %u.%u.%u (%s)\n", "SQL Server version", s->version_major, s->version_minor,
           s->version_build, b2p_product_name(s->version_major, s->version_minor));
    printf("  %-22s %u (%s)\n", "database version", s->database_version,
           b2p_database_version_name(s->database_version));
    printf("  %-22s %u\n", "compatibility level", s->compatibility_level);
    printf("  %-22s %s\n", "collation", b2p_shown(s->collation_name));
    printf("  %-22s %s\n", "first LSN", b2p_lsn_format(s->first_lsn, a, sizeof a));
    printf("  %-22s %s\n", "last LSN", b2p_lsn_format(s->last_lsn, a, sizeof a));
    printf("  %-22s %s\n", "checkpoint LSN", b2p_lsn_format(s->checkpoint_lsn, a, sizeof a));
    printf("  %-22s %s\n", "database backup LSN", b2p_lsn_format(s->database_backup_lsn, a, sizeof a));
    if (!b2p_lsn_is_zero(s->differential_base_lsn)) {
        printf("  %-22s %s\n", "differential base LSN", b2p_lsn_format(s->differential_base_lsn, a, sizeof a));
        printf("  %-22s %s\n", "differential base GUID", b2p_guid_format(&s->differential_base_guid, a, sizeof a));
    }
    printf("  %-22s %s\n", "started", b2p_datetime_format(s->start_date, a, sizeof a));
    printf("  %-22s %s\n", "finished", b2p_datetime_format(s->finish_date, b, sizeof b));
    printf("  %-22s %s\n", "database created", b2p_datetime_format(s->database_creation_date, a, sizeof a));
    printf("  %-22s %s\n", "backup set GUID", b2p_guid_format(&s->backup_set_guid, a, sizeof a));
    printf("  %-22s %s\n", "database family GUID", b2p_guid_format(&s->family_guid, a, sizeof a));
    printf("  %-22s %llu bytes (%llu compressed)\n", "backup size", (unsigned long long)s->backup_size,
           (unsigned long long)s->compressed_size);
    printf("  %-22s %s\n", "compressed", s->compressed ? "yes" : "no");
    printf("  %-22s %s\n", "encrypted", s->encrypted ? "yes" : "no");
    printf("  %-22s %s\n", "password protected", s->password_protected ? "yes (nothing is encrypted)" : "no");
    printf("  %-22s %s\n", "backup checksums", s->has_checksums ? "yes" : "no");
    printf("  files:\n");
    printf("    %4s  %-5s %-24s %-12s %14s  %s\n", "id", "type", "logical name", "filegroup", "size", "physical name");
    for (size_t i = 0; i < s->nfiles; i++) {
        const b2p_file_info *f = &s->files[i];
        printf("    %4u  %-5s %-24s %-12s %14llu  %s\n", f->file_id, file_type_name(f->type), b2p_shown(f->logical_name),
               f->filegroup_name[0] ? b2p_shown(f->filegroup_name) : "-", (unsigned long long)f->size_bytes,
               b2p_shown(f->physical_name));
    }
}

static void thumbprint_hex(const b2p_media *m, char out[41]) {
    for (int i = 0; i < 20; i++) snprintf(out + 2 * i, 3, "%02X", m->tde_thumbprint[i]);
}

/* What a TDE container shows in the clear: the rest (sets, files, LSNs) is encrypted. */
static void print_tde_text(const b2p_media *m) {
    char hex[41];
    thumbprint_hex(m, hex);
    printf("File %s\n", b2p_shown(m->path));
    printf("  %-22s %s\n", "container", "MSSQLBAK version 2, encrypted");
    printf("  %-22s %s\n", "encryption", "transparent data encryption (TDE)");
    printf("  %-22s %s (SHA-1 of the server certificate)\n", "certificate thumbprint", hex);
    printf("  %-22s %u bytes (the database encryption key, encrypted by that certificate)\n",
           "encrypted key", m->tde_key_len);
    printf("  %-22s %s\n", "algorithm", "not in the clear header");
    printf("  %-22s %llu bytes\n", "file size", (unsigned long long)m->file_size);
    printf("  %-22s %s\n", "backup sets", "encrypted: pages, log and metadata need the key (exit 11)");
}

static void print_media_text(const b2p_media *m) {
    char g[40], d[32];
    if (m->tde) {
        print_tde_text(m);
        return;
    }
    printf("File %s\n", b2p_shown(m->path));
    printf("  %-22s %s, block size %u\n", "container",
           m->compressed ? "MSSQLBAK (compressed, MS-XPRESS)" : "MTF (uncompressed)", m->block_size);
    printf("  %-22s %s\n", "media set GUID", b2p_guid_format(&m->media_set_guid, g, sizeof g));
    printf("  %-22s %u of %u\n", "media family", m->family_sequence, m->family_count);
    if (m->media_name[0]) printf("  %-22s %s\n", "media name", b2p_shown(m->media_name));
    printf("  %-22s %s\n", "media date", b2p_datetime_format(m->media_date, d, sizeof d));
    printf("  %-22s %s\n", "media password", m->media_password ? "yes (nothing is encrypted)" : "no");
    for (size_t i = 0; i < m->nsets; i++) print_set_text(&m->sets[i]);
}

static void json_lsn(json *j, const char *key, b2p_lsn l) {
    char a[32];
    json_kv_string(j, key, b2p_lsn_format(l, a, sizeof a));
}

static void print_set_json(json *j, const b2p_set_info *s) {
    char a[64];
    json_begin_object(j);
    json_kv_uint(j, "position", s->position);
    json_kv_string(j, "type", b2p_backup_type_name(s->type));
    json_kv_bool(j, "copy_only", s->copy_only);
    json_kv_string(j, "backup_name", s->backup_name);
    json_kv_string(j, "description", s->description);
    json_kv_string(j, "database_name", s->database_name);
    json_kv_string(j, "server_name", s->server_name);
    json_kv_string(j, "machine_name", s->machine_name);
    json_kv_string(j, "user_name", s->user_name);
    snprintf(a, sizeof a, "%u.%u.%u", s->version_major, s->version_minor, s->version_build);
    json_kv_string(j, "sql_server_version", a);
    json_kv_string(j, "sql_server_product", b2p_product_name(s->version_major, s->version_minor));
    json_kv_uint(j, "database_version", s->database_version);
    json_kv_uint(j, "compatibility_level", s->compatibility_level);
    json_kv_string(j, "collation", s->collation_name);
    json_lsn(j, "first_lsn", s->first_lsn);
    json_lsn(j, "last_lsn", s->last_lsn);
    json_lsn(j, "checkpoint_lsn", s->checkpoint_lsn);
    json_lsn(j, "database_backup_lsn", s->database_backup_lsn);
    json_lsn(j, "differential_base_lsn", s->differential_base_lsn);
    json_kv_string(j, "differential_base_guid",
                   b2p_lsn_is_zero(s->differential_base_lsn) ? "" : b2p_guid_format(&s->differential_base_guid, a, sizeof a));
    json_kv_string(j, "backup_start_date", b2p_datetime_format(s->start_date, a, sizeof a));
    json_kv_string(j, "backup_finish_date", b2p_datetime_format(s->finish_date, a, sizeof a));
    json_kv_string(j, "database_creation_date", b2p_datetime_format(s->database_creation_date, a, sizeof a));
    json_key(j, "time_zone_quarter_hours");
    json_int(j, s->time_zone);
    json_kv_string(j, "backup_set_guid", b2p_guid_format(&s->backup_set_guid, a, sizeof a));
    json_kv_string(j, "family_guid", b2p_guid_format(&s->family_guid, a, sizeof a));
    json_kv_uint(j, "backup_size", s->backup_size);
    json_kv_uint(j, "compressed_backup_size", s->compressed_size);
    json_kv_bool(j, "compressed", s->compressed);
    json_kv_bool(j, "encrypted", s->encrypted);
    json_kv_bool(j, "password_protected", s->password_protected);
    json_kv_bool(j, "has_backup_checksums", s->has_checksums);
    json_key(j, "files");
    json_begin_array(j);
    for (size_t i = 0; i < s->nfiles; i++) {
        const b2p_file_info *f = &s->files[i];
        char t[2] = {f->type, 0};
        json_begin_object(j);
        json_kv_string(j, "logical_name", f->logical_name);
        json_kv_string(j, "physical_name", f->physical_name);
        json_kv_string(j, "type", t);
        json_kv_uint(j, "file_id", f->file_id);
        json_kv_string(j, "filegroup", f->filegroup_name);
        json_kv_uint(j, "size", f->size_bytes);
        json_kv_uint(j, "max_size", f->max_size_bytes);
        json_kv_uint(j, "backup_size", f->backup_size_bytes);
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

static void print_media_json(json *j, const b2p_media *m) {
    char a[64];
    json_begin_object(j);
    json_kv_string(j, "path", m->path);
    json_kv_string(j, "container", m->compressed ? "MSSQLBAK" : "MTF");
    json_kv_bool(j, "compressed", m->compressed);
    json_kv_uint(j, "block_size", m->block_size);
    json_kv_uint(j, "file_size", m->file_size);
    json_kv_string(j, "media_set_guid", b2p_guid_format(&m->media_set_guid, a, sizeof a));
    json_kv_uint(j, "media_family_count", m->family_count);
    json_kv_uint(j, "media_family_sequence", m->family_sequence);
    json_kv_string(j, "media_name", m->media_name);
    json_kv_string(j, "media_date", b2p_datetime_format(m->media_date, a, sizeof a));
    json_kv_bool(j, "media_password", m->media_password);
    json_kv_bool(j, "tde", m->tde);
    if (m->tde) {
        char hex[41];
        thumbprint_hex(m, hex);
        json_kv_string(j, "tde_certificate_thumbprint", hex);
        json_kv_uint(j, "tde_encrypted_key_bytes", m->tde_key_len);
    }
    json_key(j, "backup_sets");
    json_begin_array(j);
    for (size_t i = 0; i < m->nsets; i++) print_set_json(j, &m->sets[i]);
    json_end_array(j);
    json_end_object(j);
}

static bool stats_ok(const b2p_page_stats *st) {
    return st->checksum_bad == 0 && st->torn_bad == 0 && st->csum_bad == 0 && st->unreadable_pages == 0;
}

static void print_unread_streams(const b2p_set_info *set) {
    if (set->unread_streams[0])
        printf("  %-22s %s (headers checked, skipped by their length)\n", "streams not read",
               b2p_shown(set->unread_streams));
}

static void print_check_text(const b2p_set_info *set, const b2p_page_stats *st, bool incomplete) {
    printf("\nCheck of backup set %u (%s, %s)\n", set->position, b2p_backup_type_name(set->type),
           b2p_shown(set->database_name));
    printf("  %-22s %llu (%llu MB)\n", "8 KB units read", (unsigned long long)st->units,
           (unsigned long long)(st->data_bytes >> 20));
    printf("  %-22s %llu (%llu distinct)\n", "database pages", (unsigned long long)st->pages,
           (unsigned long long)st->distinct_pages);
    printf("  %-22s %llu zero, %llu filler, %llu stale\n", "skipped units", (unsigned long long)st->zero_units,
           (unsigned long long)st->filler_units, (unsigned long long)st->stale_units);
    printf("  %-22s %llu verified, %llu bad\n", "page checksums", (unsigned long long)st->checksummed,
           (unsigned long long)st->checksum_bad);
    printf("  %-22s %llu verified, %llu torn\n", "torn-page bits", (unsigned long long)st->torn_protected,
           (unsigned long long)st->torn_bad);
    printf("  %-22s %llu without either\n", "unprotected pages",
           (unsigned long long)(st->pages - st->checksummed - st->torn_protected));
    if (incomplete)
        printf("  %-22s not checked: stripes are missing\n", "allocated pages");
    else
        printf("  %-22s %llu (per PFS), %llu missing or unreadable\n", "allocated pages",
               (unsigned long long)st->allocated_pages, (unsigned long long)st->unreadable_pages);
    if (st->csum_streams)
        printf("  %-22s %u verified, %u bad\n", "backup checksums", st->csum_streams, st->csum_bad);
    else
        printf("  %-22s none in this backup\n", "backup checksums");
    print_unread_streams(set);
    printf("  %-22s %s\n", "result", stats_ok(st) ? "OK" : "PROBLEMS FOUND");
}

static void print_log_check_text(const b2p_set_info *set, const b2p_log_stats *st) {
    printf("\nCheck of backup set %u (transaction log: no data pages)\n", set->position);
    printf("  %-22s %u blocks, %u streams, %llu bytes read\n", "log", st->log_blocks, st->log_streams,
           (unsigned long long)st->log_bytes);
    if (st->skipped_blocks)
        printf("  %-22s %u (PH6S, skipped by their own length)\n", "other blocks", st->skipped_blocks);
    if (st->csum_streams)
        printf("  %-22s %u verified, %u bad%s\n", "backup checksums", st->csum_streams, st->csum_bad,
               st->csum_bad ? " (the first at the offset named below)" : "");
    else printf("  %-22s none in this backup\n", "backup checksums");
    print_unread_streams(set);
    if (st->csum_bad)
        fprintf(stderr, "bak2pg: backup set %u: offset %llu: backup checksum (CSUM) mismatch over the log stream\n",
                set->position, (unsigned long long)st->first_bad_offset);
}

static void print_log_check_json(json *j, const b2p_set_info *set, const b2p_log_stats *st) {
    json_begin_object(j);
    json_kv_uint(j, "backup_set", set->position);
    json_kv_string(j, "kind", "log");
    json_kv_uint(j, "log_blocks", st->log_blocks);
    json_kv_uint(j, "log_streams", st->log_streams);
    json_kv_uint(j, "log_bytes", st->log_bytes);
    json_kv_uint(j, "skipped_blocks", st->skipped_blocks);
    json_kv_uint(j, "backup_checksums", st->csum_streams);
    json_kv_uint(j, "bad_backup_checksums", st->csum_bad);
    json_kv_bool(j, "ok", st->csum_bad == 0);
    json_kv_string(j, "unread_streams", set->unread_streams);
    json_end_object(j);
}

static void print_check_json(json *j, const b2p_set_info *set, const b2p_page_stats *st, bool incomplete) {
    json_begin_object(j);
    json_kv_uint(j, "backup_set", set->position);
    json_kv_string(j, "unread_streams", set->unread_streams);
    json_kv_uint(j, "units", st->units);
    json_kv_uint(j, "pages", st->pages);
    json_kv_uint(j, "distinct_pages", st->distinct_pages);
    json_kv_uint(j, "zero_units", st->zero_units);
    json_kv_uint(j, "filler_units", st->filler_units);
    json_kv_uint(j, "stale_units", st->stale_units);
    json_kv_uint(j, "checksummed_pages", st->checksummed);
    json_kv_uint(j, "bad_checksums", st->checksum_bad);
    json_kv_uint(j, "torn_protected_pages", st->torn_protected);
    json_kv_uint(j, "torn_pages", st->torn_bad);
    json_kv_uint(j, "backup_checksums", st->csum_streams);
    json_kv_uint(j, "bad_backup_checksums", st->csum_bad);
    json_kv_uint(j, "data_bytes", st->data_bytes);
    json_key(j, "allocated_pages");
    if (incomplete) json_null(j);
    else json_uint(j, st->allocated_pages);
    json_kv_uint(j, "unreadable_pages", st->unreadable_pages);
    json_kv_bool(j, "ok", stats_ok(st));
    json_end_object(j);
}

static int parse_args(int argc, char **argv, info_opts *o) {
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"check", no_argument, NULL, 'c'},
        {"backup-set", required_argument, NULL, 'b'},
        {"allow-missing-stripes", no_argument, NULL, 'm'},
        {"tde-cert", required_argument, NULL, 'C'},
        {"tde-key", required_argument, NULL, 'K'},
        {"tde-password-file", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    opterr = 0; /* an unknown option is reported once, by cli_bad_option */
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': o->json = true; break;
        case 'c': o->check = true; break;
        case 'm': o->allow_missing = true; break;
        case 'C': o->tde_cert = optarg; break;
        case 'K': o->tde_key = optarg; break;
        case 'P': o->tde_password_file = optarg; break;
        case 'b':
            if (cli_parse_backup_set("info", optarg, &o->backup_set)) return B2P_ERR_USAGE;
            break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: return cli_bad_option("info", c, argv);
        }
    }
    if (optind >= argc) return cli_usage_error("info", "no backup file given");
    if ((o->tde_key || o->tde_password_file) && !o->tde_cert)
        return cli_usage_error("info", "--tde-key and --tde-password-file need --tde-cert");
    return 0;
}

/* The PVK password: the first line of --tde-password-file, else B2P_TDE_PASSWORD. */
static bool read_tde_password(const info_opts *o, char *out, size_t len) {
    out[0] = 0;
    if (!o->tde_password_file) {
        const char *env = getenv("B2P_TDE_PASSWORD");
        if (env) snprintf(out, len, "%s", env);
        return true;
    }
    FILE *f = fopen(o->tde_password_file, "r");
    if (!f) {
        fprintf(stderr, "bak2pg: '%s': cannot open the password file: %s\n", b2p_shown(o->tde_password_file),
                strerror(errno));
        return false;
    }
    if (!fgets(out, (int)len, f)) out[0] = 0;
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
    return true;
}

static void print_tde_keys(const b2p_tde_keys *k, bool key_given) {
    printf("\nKey material\n");
    printf("  %-22s %s\n", "certificate", k->certificate_matches ? "matches the thumbprint" : "does not match");
    if (!key_given) return;
    printf("  %-22s %s\n", "private key", k->private_key_decrypted ? "decrypted with the password" : "not decrypted");
    if (k->private_key_decrypted)
        printf("  %-22s %s\n", "key and certificate", k->key_matches_certificate ? "belong together" : "do not belong together");
    if (k->database_key_decrypted)
        printf("  %-22s decrypted: %s, %u bits (not shown)\n", "database key", k->algorithm, k->key_bits);
    else if (k->key_matches_certificate) printf("  %-22s not decrypted\n", "database key");
}

/* --tde-cert (and --tde-key): checks the key material of the first TDE file given. */
static int check_tde_keys(const info_opts *o, b2p_backup *bk, bool json_out, json *j) {
    const b2p_media *m = NULL;
    for (size_t i = 0; i < b2p_backup_media_count(bk) && !m; i++)
        if (b2p_backup_media(bk, i)->tde) m = b2p_backup_media(bk, i);
    if (!m) {
        fprintf(stderr, "bak2pg: --tde-cert: none of the given files is under transparent data encryption\n");
        return B2P_ERR_USAGE;
    }
    char password[1024];
    if (o->tde_key && !read_tde_password(o, password, sizeof password)) return B2P_ERR_IO;
    b2p_tde_keys k;
    b2p_error err = {0};
    b2p_status st = b2p_tde_check_keys(m, o->tde_cert, o->tde_key, o->tde_key ? password : NULL, &k, &err);
    explicit_bzero(password, sizeof password);
    if (json_out) {
        json_key(j, "tde_keys");
        json_begin_object(j);
        json_kv_bool(j, "certificate_matches", k.certificate_matches);
        json_kv_bool(j, "private_key_decrypted", k.private_key_decrypted);
        json_kv_bool(j, "key_matches_certificate", k.key_matches_certificate);
        json_kv_bool(j, "database_key_decrypted", k.database_key_decrypted);
        if (k.database_key_decrypted) {
            json_kv_string(j, "algorithm", k.algorithm);
            json_kv_uint(j, "key_bits", k.key_bits);
        }
        json_end_object(j);
    } else print_tde_keys(&k, o->tde_key != NULL);
    return st ? cli_report(&err) : 0;
}

int cmd_info(int argc, char **argv) {
    info_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    b2p_error err = {0};
    b2p_backup *bk;
    b2p_open_options oo = {.allow_missing_stripes = o.allow_missing};
    b2p_status st = b2p_backup_open(&bk, (const char *const *)argv + optind, (size_t)(argc - optind), &oo, &err);
    if (st) return cli_report(&err);

    b2p_pages *src = NULL;
    bad_pages bad = {0};
    b2p_pages_options po = {.backup_set = o.backup_set, .allow_missing_stripes = o.allow_missing,
                            .on_bad_page = on_bad_page, .ctx = &bad};
    /* A log backup holds no pages: --check reads its log streams through instead. */
    const b2p_set_info *log_set = NULL;
    b2p_log_stats log_stats;
    if (o.check && (st = b2p_pages_open(&src, bk, &po, &err)) == B2P_ERR_LOG_BACKUP) {
        err = (b2p_error){0};
        st = b2p_log_check(bk, o.backup_set, &log_set, &log_stats, &err);
    }
    if (o.check && st) {
        b2p_backup_free(bk);
        return cli_report(&err);
    }
    json j;
    json_init(&j, stdout);
    if (o.json) {
        json_begin_object(&j);
        json_key(&j, "files");
        json_begin_array(&j);
    }
    for (size_t i = 0; i < b2p_backup_media_count(bk); i++) {
        if (o.json) print_media_json(&j, b2p_backup_media(bk, i));
        else {
            if (i) printf("\n");
            print_media_text(b2p_backup_media(bk, i));
        }
    }
    int exit_code = 0;
    if (o.json) json_end_array(&j);
    if (src) {
        const b2p_page_stats *ps = b2p_pages_stats(src);
        if (o.json) {
            json_key(&j, "check");
            print_check_json(&j, b2p_pages_set(src), ps, b2p_pages_incomplete(src));
        } else print_check_text(b2p_pages_set(src), ps, b2p_pages_incomplete(src));
        if (!stats_ok(ps)) exit_code = B2P_ERR_FAILED;
    }
    if (o.tde_cert) {
        int rc_keys = check_tde_keys(&o, bk, o.json, &j);
        if (rc_keys) exit_code = rc_keys;
    }
    if (log_set) {
        if (o.json) {
            json_key(&j, "check");
            print_log_check_json(&j, log_set, &log_stats);
        } else print_log_check_text(log_set, &log_stats);
        if (log_stats.csum_bad) exit_code = B2P_ERR_FAILED;
    }
    if (o.json) {
        json_end_object(&j);
        json_finish(&j);
    }
    b2p_pages_free(src);
    b2p_backup_free(bk);
    return exit_code;
}
