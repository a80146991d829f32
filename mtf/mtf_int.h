/* Internals shared by the files of mtf/ only. */
#ifndef B2P_MTF_INT_H
#define B2P_MTF_INT_H

#ifndef B2P_MTF_INTERNAL
#error "mtf_int.h is private to mtf/; include mtf/mtf.h"
#endif

#include "mtf.h"

/* ---- the MTF image: the plain MTF byte stream of one file ---------------------------
 * For a TAPE file the image is the file. For an MSSQLBAK file it is the concatenation of its
 * decoded records and raw SFMB blocks; segments map image offsets to file offsets. */

typedef enum b2p_seg_kind { B2P_SEG_RAW, B2P_SEG_XPRESS } b2p_seg_kind;

typedef struct b2p_segment {
    uint64_t image_off;
    uint64_t file_off;    /* RAW: the bytes; XPRESS: the record's 28-byte header */
    uint32_t out_len;     /* bytes of image */
    uint32_t in_len;      /* XPRESS: compressed payload bytes after the header */
    uint8_t kind;
} b2p_segment;

/* Immutable once b2p_image_open returns: any number of threads may read through one image at
 * once (pread on the shared descriptor), each with a b2p_image_cache of its own. */
typedef struct b2p_image {
    int fd;
    const char *path;      /* borrowed from the owning media */
    uint64_t file_size;
    uint64_t size;         /* bytes of MTF image */
    bool compressed;
    bool tde;              /* an MSSQLBAK version 2 container under TDE: see image.c */
    uint8_t tde_thumbprint[20];
    uint32_t tde_key_len;
    b2p_segment *segs;
    size_t nsegs, segcap;
} b2p_image;

#define B2P_IMAGE_CACHE_SLOTS 4

/* What reading a compressed image changes: decoded records and the payload scratch. One per
 * reader (thread); all zero is an empty cache. Unused for uncompressed images. */
typedef struct b2p_image_cache {
    uint8_t *buf[B2P_IMAGE_CACHE_SLOTS]; /* slot k holds the decoded segment seg[k] */
    size_t seg[B2P_IMAGE_CACHE_SLOTS];
    unsigned next;         /* the slot a miss replaces (round robin) */
    uint8_t *inbuf;        /* compressed payload scratch */
    size_t inbuf_cap;
} b2p_image_cache;

void b2p_image_cache_free(b2p_image_cache *c);

/* Opens path as an MTF image (detects TAPE / MSSQLBAK). Errors name the file and offset. */
b2p_status b2p_image_open(b2p_image *im, const char *path, b2p_error *err);
void b2p_image_close(b2p_image *im);
/* Reads image bytes [off, off+len), decoding compressed records through cache. B2P_ERR_TRUNCATED when the image ends first. */
b2p_status b2p_image_read(const b2p_image *im, b2p_image_cache *cache, uint64_t off, void *buf,
                          size_t len, b2p_error *err);
/* The file offset an image offset comes from (for messages; for compressed images the
 * offset of the record that holds it). */
uint64_t b2p_image_file_offset(const b2p_image *im, uint64_t image_off);

/* Reads the whole file range [off, off+len) with pread; B2P_ERR_TRUNCATED at EOF. */
b2p_status b2p_file_read(int fd, const char *path, uint64_t off, void *buf, size_t len,
                         b2p_error *err);

/* ---- what the walker finds for one backup set in one file ---------------------------- */

typedef struct b2p_data_range {
    uint64_t image_off;   /* first page unit (after the stream's 2-byte lead) */
    uint64_t len;         /* bytes of whole 8 KB units */
    uint64_t csum_off;    /* image offset of the checksummed data (the lead included) */
    uint64_t csum_len;
    bool has_csum;
    uint32_t csum;        /* the CSUM stream's value */
} b2p_data_range;

typedef struct b2p_set_data {
    b2p_data_range *ranges;
    size_t nranges;
    b2p_data_range *log_ranges; /* MQTL streams: the log, in 8 KB units after the same lead */
    size_t nlog_ranges;
    bool has_msda;        /* an MSDA block was present (not a log backup) */
    unsigned log_blocks;  /* MSTL blocks seen */
    unsigned skipped_blocks; /* blocks bak2pg skips by their own length (PH6S) */
} b2p_set_data;

typedef struct b2p_media_int {
    b2p_media pub;
    b2p_image image;
    b2p_set_data *data;   /* parallel to pub.sets */
} b2p_media_int;

struct b2p_backup {
    b2p_media_int **media;
    size_t nmedia;
};

/* Walks the MTF image of m: fills m->pub (TAPE, RAID, sets with their metadata) and m->data. */
b2p_status b2p_walk_media(b2p_media_int *m, b2p_error *err);
void b2p_media_free_sets(b2p_media_int *m);

/* The refusal of a differential beside a full backup that is not its base (B2P_ERR_NEEDS_FULL),
 * naming both files and the base the differential needs. */
b2p_status b2p_fail_not_its_base(b2p_error *err, const char *diff_path, const b2p_set_info *diff,
                                 const char *full_path, const b2p_set_info *full);

/* The refusal of a file under transparent data encryption (B2P_ERR_TDE), naming the thumbprint
 * of the certificate that would be needed. */
b2p_status b2p_fail_tde(b2p_error *err, const b2p_media *m);

/* Parses one MQCI stream (SCIN/SFGI/SFIN records) into set. */
b2p_status b2p_parse_mqci(const uint8_t *data, size_t len, b2p_set_info *set, const char *path,
                          uint64_t offset, b2p_error *err);

/* Decoders of MTF primitive fields. */
b2p_datetime b2p_mtf_datetime(const uint8_t p[5]);
b2p_lsn b2p_lsn_read(const uint8_t p[10]);
/* Copies a UTF-16LE string of nbytes to UTF-8 in out (always terminated; trailing NULs cut). */
void b2p_utf16_to_utf8(const uint8_t *s, size_t nbytes, char *out, size_t outlen);
/* The collation's name ("SQL_Latin1_General_CP1_CI_AS", "Vietnamese_CI_AS"), or "" if unknown. */
void b2p_collation_name(uint32_t lcid_flags, uint32_t sort_id, char *out, size_t outlen);

/* ---- page identity ------------------------------------------------------------------ */

typedef enum b2p_unit_kind {
    B2P_UNIT_PAGE,     /* a real page: ids valid */
    B2P_UNIT_ZERO,     /* all zero: allocated, never written */
    B2P_UNIT_FILLER,   /* backup-buffer filler */
    B2P_UNIT_STALE     /* not a page header: stale disk content */
} b2p_unit_kind;

b2p_unit_kind b2p_unit_classify(const uint8_t unit[B2P_PAGE_SIZE], uint16_t *file_id,
                                uint32_t *page_id);

#endif
