/* A writer of SQL Server backup containers, for tests and generated backups: the MTF framing
 * SQL Server writes (container.md 2.3), optionally inside the compressed MSSQLBAK container.
 * The caller supplies the 8 KB page units; the writer streams them (memory stays bounded: one
 * 64 KiB record at a time) and frames them with valid block and stream checksums, metadata
 * (SCIN/SFGI/SFIN) and, on request, the backup checksum (CSUM). Deterministic: the same options
 * and units give the same bytes. */
#ifndef B2P_MTF_WRITER_H
#define B2P_MTF_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mtfw_file {
    const char *logical_name;
    const char *physical_name;
    uint16_t file_id;
    char type;           /* 'D' or 'L' */
    uint64_t size_bytes;
} mtfw_file;

typedef struct mtfw_options {
    uint32_t block_size;         /* 512 or 4096 */
    bool compress;               /* MSSQLBAK container with XPRESS records */
    bool with_checksum;          /* CSUM stream after the page data */
    char type_letter;            /* 'D' full, 'I' differential, 'L' log (no pages) */
    const char *database_name;
    const char *server_name;
    uint8_t version_major, version_minor;
    uint16_t version_build;
    uint16_t database_version;
    uint8_t backup_set_guid[16];
    uint8_t media_set_guid[16];
    uint8_t differential_base_guid[16];
    uint8_t family_guid[16];     /* SCIN +0x7C: the database's identity, shared by its backups */
    uint16_t family_count, family_sequence; /* 0 means 1 */
    uint64_t total_units;        /* page units that will be added, exactly */
    const mtfw_file *files;
    size_t nfiles;
} mtfw_options;

typedef struct mtfw mtfw;

/* Starts a backup in out (positioned at 0). Returns NULL on bad options or no memory. */
mtfw *mtfw_open(FILE *out, const mtfw_options *opt);
/* Adds n page units (8192 bytes each), in the order they should appear. */
bool mtfw_add_units(mtfw *w, const uint8_t *units, size_t n);
/* Finishes the set (metadata copy, end-of-set blocks); false if fewer units were added than
 * announced or a write failed. Frees w in any case. */
bool mtfw_close(mtfw *w);

/* Fills every GUID of opt that is all zero (backup set, media set, family) from content, a
 * 128-bit hash of everything that shapes the backup's pages, and the options that shape the
 * file: two different backups never share an identity, and the same input gives the same one
 * (same bytes). The family GUID, the database's identity, comes from content and the database
 * name alone: the same database backed up compressed or not is one database. */
void mtfw_derive_identity(mtfw_options *opt, const uint8_t content[16]);

/* The whole backup at once: n contiguous units written to a new file at path. GUIDs left zero
 * are derived from the units and options (mtfw_derive_identity). False on any failure. */
bool mtfw_write_file(const char *path, mtfw_options *opt, const uint8_t *units, size_t n);

#endif
