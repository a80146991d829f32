/* mtf/: the backup container, from a file's first byte to the 8 KB database pages.
 *
 * What this layer offers:
 *   - b2p_backup_open(): opens one or more backup files (.bak/.trn; plain Microsoft Tape Format
 *     or SQL Server's compressed MSSQLBAK container) that are parts of one backup, walks their
 *     descriptor blocks and reads the metadata RESTORE HEADERONLY / FILELISTONLY would show
 *     (b2p_media, b2p_set_info).
 *   - b2p_pages_open(): the page source of one backup set: every database page keyed by
 *     (file id, page id), across stripes, with a differential laid over its full backup;
 *     checksums verified and torn-page bits restored as pages are read; pages the PFS pages
 *     mark allocated but the backup lacks found and reported as damage.
 *
 * It knows nothing of what a page means beyond the few header fields that identify it and the
 * PFS byte that says whether a page is allocated (pages.md 2.4).
 * Format notes: ../shared/docs/container.md (MTF: sections 2-3; MQCI metadata: 5; MSSQLBAK: 7). */
#ifndef B2P_MTF_H
#define B2P_MTF_H

#include <stdbool.h>

#include "base/base.h"

#define B2P_PAGE_SIZE 8192

/* A log sequence number as stored: VLF sequence, block, slot. */
typedef struct b2p_lsn {
    uint32_t vlf;
    uint32_t block;
    uint16_t slot;
} b2p_lsn;

/* A date as MTF stores it: local time of the server, no zone. All zero = unknown. */
typedef struct b2p_datetime {
    uint16_t year;
    uint8_t month, day, hour, minute, second;
} b2p_datetime;

typedef struct b2p_guid {
    uint8_t b[16]; /* as stored: Data1..3 little-endian, Data4 bytes */
} b2p_guid;

typedef enum b2p_backup_type {
    B2P_BACKUP_UNKNOWN = 0,
    B2P_BACKUP_FULL,          /* 'D' database */
    B2P_BACKUP_DIFFERENTIAL,  /* 'I' differential database */
    B2P_BACKUP_LOG,           /* 'L' transaction log */
    B2P_BACKUP_FILE,          /* 'F' file or filegroup */
    B2P_BACKUP_DIFF_FILE,     /* 'G' differential file */
    B2P_BACKUP_PARTIAL,       /* 'P' partial */
    B2P_BACKUP_DIFF_PARTIAL   /* 'Q' differential partial */
} b2p_backup_type;

/* One database file of a backup set (RESTORE FILELISTONLY). */
typedef struct b2p_file_info {
    char logical_name[256];
    char physical_name[520];
    char type;                 /* 'D' data, 'L' log, 'F' full-text, 'S' filestream, '?' */
    uint32_t file_id;          /* 1..32767 for data and log; 65537 and up for FILESTREAM containers */
    uint32_t filegroup_id;
    char filegroup_name[256];  /* "" for the log */
    uint64_t size_bytes;       /* size of the file in the database */
    uint64_t max_size_bytes;
    uint64_t backup_size_bytes;/* bytes of this file's pages in the backup */
} b2p_file_info;

/* One backup set (RESTORE HEADERONLY row), from the SSET, VOLB and the final MQCI copy. */
typedef struct b2p_set_info {
    uint16_t position;           /* FILE = n */
    b2p_backup_type type;
    bool copy_only;
    char type_letter;            /* as stored: 'D', 'I', 'L', ... */
    char backup_name[256];
    char description[256];
    char user_name[256];
    char database_name[256];
    char server_name[256];
    char machine_name[256];
    uint8_t version_major, version_minor;
    uint16_t version_build;
    uint16_t database_version;   /* internal version: 611 = 2005 ... 998 = 2025 */
    uint8_t compatibility_level;
    uint32_t collation_lcid_flags; /* LCID | comparison flags << 16 */
    uint32_t collation_sort_id;    /* SQL sort order id; 0 for Windows collations */
    char collation_name[128];
    uint32_t flags;              /* SCIN flags */
    bool has_checksums;          /* WITH CHECKSUM: CSUM streams present */
    bool compressed;             /* MSSQLBAK container */
    bool encrypted;              /* backup encryption */
    bool password_protected;     /* MEDIAPASSWORD / PASSWORD (nothing is encrypted) */
    char unread_streams[64];     /* distinct stream ids of the set skipped by their length,
                                  * space-separated ("APAD MQSS OTCP TSMP"), up to 12 */
    b2p_lsn first_lsn, last_lsn, checkpoint_lsn, database_backup_lsn, differential_base_lsn;
    b2p_guid backup_set_guid;
    b2p_guid differential_base_guid;
    b2p_guid family_guid;        /* SCIN +0x7C: constant per database (FamilyGUID or BindingID,
                                  * container.md 5.2): the same database, whichever backup */
    b2p_datetime database_creation_date, start_date, finish_date;
    int8_t time_zone;            /* 15-minute units from UTC; 127 = unknown */
    uint64_t backup_size;
    uint64_t compressed_size;
    size_t nfiles;
    b2p_file_info *files;
} b2p_set_info;

/* One backup file (one media family of a media set). */
typedef struct b2p_media {
    char path[4096];
    bool compressed;              /* MSSQLBAK container */
    uint32_t block_size;          /* physical block size: 512, 4096, ... */
    uint64_t file_size;
    b2p_guid media_set_guid;      /* shared by all stripes of one backup */
    uint16_t family_count;        /* stripes in the media set */
    uint16_t family_sequence;     /* this file's stripe number, 1-based */
    uint32_t media_family_id;
    char media_name[256];
    b2p_datetime media_date;
    bool media_password;
    /* Transparent data encryption: the file is an MSSQLBAK version 2 container whose contents
     * are encrypted; only its clear header is read (no sets), and data needs the key (exit 11). */
    bool tde;
    uint8_t tde_thumbprint[20];   /* SHA-1 of the server certificate that protects the key */
    uint32_t tde_key_len;         /* bytes of the encrypted key the header carries */
    size_t nsets;
    b2p_set_info *sets;           /* in file order */
} b2p_media;

typedef struct b2p_backup b2p_backup;

typedef struct b2p_open_options {
    bool allow_missing_stripes;   /* salvage: read what is there when stripes are absent */
} b2p_open_options;

/* Opens and describes the given files (any order). They must be parts of one backup: stripes of
 * one media set, a full backup with its differentials and the log backups taken after it; files
 * nothing ties together are refused with B2P_ERR_USAGE naming a file and its database from each
 * side (B2P_ERR_NEEDS_FULL for a differential beside a full that is not its base). Fails with
 * B2P_ERR_MISSING_STRIPE when a media set is incomplete, unless opt->allow_missing_stripes. On
 * failure *out is NULL. */
b2p_status b2p_backup_open(b2p_backup **out, const char *const *paths, size_t npaths,
                           const b2p_open_options *opt, b2p_error *err);
void b2p_backup_free(b2p_backup *bk);

size_t b2p_backup_media_count(const b2p_backup *bk);
const b2p_media *b2p_backup_media(const b2p_backup *bk, size_t i);

/* Text for a backup type: "full", "differential", "log", ... */
const char *b2p_backup_type_name(b2p_backup_type t);
/* "25000000012300037" (the numeric(25,0) form HEADERONLY prints); buf of at least 32 bytes. */
char *b2p_lsn_format(b2p_lsn lsn, char *buf, size_t len);
/* "2019-11-26 13:13:26"; "" when unknown. buf of at least 20 bytes. */
char *b2p_datetime_format(b2p_datetime d, char *buf, size_t len);
/* "6F9619FF-8B86-D011-B42D-00C04FC964FF" as SQL Server prints GUIDs; buf of at least 37 bytes. */
char *b2p_guid_format(const b2p_guid *g, char *buf, size_t len);
bool b2p_lsn_is_zero(b2p_lsn lsn);
/* "SQL Server 2008 R2" from the software version; "SQL Server 2019" from a database version. */
const char *b2p_product_name(uint8_t major, uint8_t minor);
const char *b2p_database_version_name(uint16_t database_version);

/* ---- the page source ---------------------------------------------------------------- */

typedef struct b2p_pages b2p_pages;

typedef struct b2p_page_stats {
    uint64_t units;            /* 8 KB units read from the data streams */
    uint64_t pages;            /* real database pages among them */
    uint64_t zero_units;       /* allocated but never written (all zero) */
    uint64_t filler_units;     /* backup-buffer filler */
    uint64_t stale_units;      /* never-formatted disk content inside an allocated extent */
    uint64_t checksummed;      /* pages with a page checksum ... */
    uint64_t checksum_bad;     /* ... of which this many failed */
    uint64_t torn_protected;   /* pages with torn-page detection ... */
    uint64_t torn_bad;         /* ... of which this many were torn */
    uint64_t data_bytes;       /* bytes of page data read */
    unsigned csum_streams;     /* backup checksums (CSUM) present ... */
    unsigned csum_bad;         /* ... of which this many failed */
    uint64_t distinct_pages;   /* pages addressable after overlaying (last copy wins) */
    uint64_t allocated_pages;  /* pages the PFS pages mark allocated (complete backups only) ... */
    uint64_t unreadable_pages; /* ... of which the backup holds no copy (damaged or lost), plus PFS
                                * pages themselves missing or not PFS pages */
} b2p_page_stats;

typedef struct b2p_pages_options {
    int backup_set;              /* Position (FILE = n); 0 = the last full (or the named diff) */
    bool allow_missing_stripes;  /* must match the b2p_backup_open option */
    /* Called for each page found bad while scanning (may be NULL). */
    void (*on_bad_page)(void *ctx, const char *path, uint64_t offset, uint16_t file_id,
                        uint32_t page_id, const char *why);
    void *ctx;
} b2p_pages_options;

/* Builds the page source of one backup set by one sequential pass over its data streams:
 * indexes every page, verifies page checksums and backup checksums on the way (see stats).
 * A differential is laid over its full backup, which must be among the opened files. In a
 * complete backup it then checks allocation: every page a PFS page marks allocated must be
 * among the indexed pages; each one that is not is counted (unreadable_pages) and reported
 * through on_bad_page, and reading it later is B2P_ERR_CORRUPT. */
b2p_status b2p_pages_open(b2p_pages **out, b2p_backup *bk, const b2p_pages_options *opt,
                          b2p_error *err);
void b2p_pages_free(b2p_pages *src);

/* True when stripes of the set (or of its base full) are missing: pages the source lacks may
 * then have held data. In a complete backup an absent page was never written. */
bool b2p_pages_incomplete(const b2p_pages *src);
/* The file holding the backup set the source delivers (errors name it). */
const char *b2p_pages_path(const b2p_pages *src);
/* The backup set the source delivers (the differential when one is laid over a full). */
const b2p_set_info *b2p_pages_set(const b2p_pages *src);
const b2p_page_stats *b2p_pages_stats(const b2p_pages *src);

/* Copies page (file_id, page_id) into page[8192], torn bits restored.
 * B2P_ERR_NOT_FOUND when the backup does not hold that page (unallocated, or on a missing
 * stripe); B2P_ERR_CORRUPT when its checksum fails (page is still filled, for salvage), and
 * when allocation says it exists but the backup holds no copy (damage; page is not filled). */
b2p_status b2p_pages_read(b2p_pages *src, uint16_t file_id, uint32_t page_id,
                          uint8_t page[B2P_PAGE_SIZE], b2p_error *err);

/* Calls fn for every page, in (file id, page id) order; stops early when fn returns non-zero
 * (that value is returned). Pages are read one at a time: memory stays bounded. */
typedef int (*b2p_page_fn)(void *ctx, uint16_t file_id, uint32_t page_id,
                           const uint8_t page[B2P_PAGE_SIZE]);
int b2p_pages_foreach(b2p_pages *src, b2p_page_fn fn, void *ctx, b2p_error *err);

/* ---- several threads ------------------------------------------------------------------
 * A b2p_pages handle is for one thread at a time: reading a compressed backup changes its
 * cache of decoded records. For N threads, give each its own handle from b2p_pages_fork: a
 * second handle on the same page source that shares everything fixed at open (the page index,
 * with a differential's overlay; the statistics; the open files, read with pread) and has its
 * own cache and buffers. Reads through different handles then run at once with no lock.
 *
 *   b2p_pages *mine = b2p_pages_fork(src, &err);   (any thread; src may be in use meanwhile)
 *   ... b2p_pages_read(mine, ...) / b2p_pages_foreach / pages/ and emit/ calls, in one thread ...
 *   b2p_pages_free(mine);
 *
 * Free every fork before its source (and the backup) is freed. The accessors above
 * (path, set, stats, incomplete) answer the same for a fork as for its source. NULL (err set)
 * when out of memory. */
b2p_pages *b2p_pages_fork(const b2p_pages *src, b2p_error *err);

/* ---- page integrity (used by the source; public for tests and tools) ---------------- */

/* SQL Server's page checksum (m_flagBits 0x200): container.md 10.3. */
uint32_t b2p_page_checksum(const uint8_t page[B2P_PAGE_SIZE]);
/* Checks the torn-page signature (m_flagBits 0x100) and restores the saved bits in place.
 * Returns false when the sectors disagree (a torn write). */
bool b2p_page_restore_torn_bits(uint8_t page[B2P_PAGE_SIZE]);
/* What info --check finds in a transaction log backup set (logcheck.c). */
typedef struct b2p_log_stats {
    unsigned log_blocks;        /* MSTL blocks */
    unsigned log_streams;       /* MQTL streams read through ... */
    uint64_t log_bytes;         /* ... holding this many bytes of log */
    unsigned skipped_blocks;    /* blocks skipped by their own length (PH6S) */
    unsigned csum_streams;      /* backup checksums (CSUM) over the log ... */
    unsigned csum_bad;          /* ... of which this many failed */
    uint64_t first_bad_offset;  /* file offset of the first stream whose checksum failed */
} b2p_log_stats;

/* Reads every log stream of the log backup set at position (0: the last log set) and verifies
 * its backup checksums; *set is the set checked. B2P_ERR_NOT_FOUND when there is none. */
b2p_status b2p_log_check(const b2p_backup *bk, int position, const b2p_set_info **set,
                         b2p_log_stats *st, b2p_error *err);

/* What checking a TDE backup's key material found (tde.c); each step needs the one before. */
typedef struct b2p_tde_keys {
    bool certificate_matches;     /* SHA-1 of the certificate file = the backup's thumbprint */
    bool private_key_decrypted;   /* the PVK opened with the password */
    bool key_matches_certificate;
    bool database_key_decrypted;  /* the header's encrypted key opened under the private key */
    uint32_t key_alg;             /* CryptoAPI ALG_ID of that key */
    unsigned key_bits;
    char algorithm[32];           /* "AES_256", ... */
} b2p_tde_keys;

/* Checks cert_path (DER) against m's thumbprint, then (key_path not NULL) opens the PVK private
 * key with password and decrypts the key in m's header. Stops at the first step that fails, with
 * one line naming it (B2P_ERR_TDE); *out says which steps succeeded. No key is ever returned. */
b2p_status b2p_tde_check_keys(const b2p_media *m, const char *cert_path, const char *key_path,
                              const char *password, b2p_tde_keys *out, b2p_error *err);

/* The backup checksum of a CSUM stream over len bytes (container.md 10.4), incrementally:
 * state starts at 0 with sector 0; len must be a multiple of 512 except for the last call. */
typedef struct b2p_csum_state {
    uint32_t value;
    uint64_t sector;
} b2p_csum_state;
void b2p_backup_checksum_update(b2p_csum_state *st, const uint8_t *data, size_t len);

#endif
