/* parquet/: a Parquet file writer (format facts from apache/parquet-format's parquet.thrift and
 * Encodings.md; no Parquet library: Debian 12 packages none for C -- libarrow/libparquet and
 * parquet-glib are not in bookworm's main archive).
 *
 * What it writes: a flat schema of required or optional columns, PLAIN values, definition levels
 * in the RLE/bit-packed hybrid for optional columns, one data page (v1) per column chunk with
 * statistics (min/max, null_count), UNCOMPRESSED or ZSTD pages, and the footer (FileMetaData) in
 * Thrift compact encoding. Rows stream: only the current row group is buffered, and it is
 * written out once it holds row_group_rows rows.
 *
 * The encoders (Thrift compact, the hybrid) are exposed for the tests. */
#ifndef B2P_PARQUET_H
#define B2P_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"

typedef enum b2p_pq_physical {
    B2P_PQ_BOOLEAN = 0, B2P_PQ_INT32 = 1, B2P_PQ_INT64 = 2, B2P_PQ_FLOAT = 4, B2P_PQ_DOUBLE = 5,
    B2P_PQ_BYTE_ARRAY = 6, B2P_PQ_FIXED = 7,
} b2p_pq_physical;

typedef enum b2p_pq_logical {
    B2P_PQL_NONE, B2P_PQL_STRING, B2P_PQL_DECIMAL, B2P_PQL_DATE, B2P_PQL_TIME, B2P_PQL_TIMESTAMP,
    B2P_PQL_INTEGER, B2P_PQL_UUID, B2P_PQL_JSON,
} b2p_pq_logical;

typedef enum b2p_pq_unit { B2P_PQ_MILLIS = 1, B2P_PQ_MICROS = 2, B2P_PQ_NANOS = 3 } b2p_pq_unit;

typedef enum b2p_pq_codec { B2P_PQ_UNCOMPRESSED = 0, B2P_PQ_ZSTD = 6 } b2p_pq_codec;

typedef struct b2p_pq_column {
    const char *name;          /* UTF-8 */
    b2p_pq_physical physical;
    int32_t type_length;       /* B2P_PQ_FIXED only */
    bool nullable;
    b2p_pq_logical logical;
    int32_t precision, scale;  /* DECIMAL */
    b2p_pq_unit unit;          /* TIME, TIMESTAMP */
    bool utc;                  /* TIME, TIMESTAMP: isAdjustedToUTC */
    int8_t bit_width;          /* INTEGER: 8, 16, 32, 64 */
    bool is_signed;            /* INTEGER */
} b2p_pq_column;

typedef struct b2p_pq_kv { const char *key, *value; } b2p_pq_kv;

typedef struct b2p_pq_options {
    b2p_pq_codec codec;
    int zstd_level;            /* 0: libzstd's default */
    uint64_t row_group_rows;   /* 0: 1048576 */
} b2p_pq_options;

typedef struct b2p_pq_writer b2p_pq_writer;

/* Starts a file on f (which the caller closes after b2p_pq_close). cols and kv are copied. */
b2p_status b2p_pq_open(b2p_pq_writer **w, FILE *f, const b2p_pq_column *cols, size_t ncols,
                       const b2p_pq_kv *kv, size_t nkv, const b2p_pq_options *opt, b2p_error *err);
/* One value of column col of the current row; every column gets exactly one per row. After any
 * failure the writer is only good for b2p_pq_abort. */
b2p_status b2p_pq_null(b2p_pq_writer *w, size_t col, b2p_error *err);
b2p_status b2p_pq_bool(b2p_pq_writer *w, size_t col, bool v, b2p_error *err);
b2p_status b2p_pq_int32(b2p_pq_writer *w, size_t col, int32_t v, b2p_error *err);
b2p_status b2p_pq_int64(b2p_pq_writer *w, size_t col, int64_t v, b2p_error *err);
b2p_status b2p_pq_float(b2p_pq_writer *w, size_t col, float v, b2p_error *err);
b2p_status b2p_pq_double(b2p_pq_writer *w, size_t col, double v, b2p_error *err);
/* BYTE_ARRAY, or FIXED (len must equal type_length). */
b2p_status b2p_pq_bytes(b2p_pq_writer *w, size_t col, const void *p, size_t len, b2p_error *err);
/* Ends the row: checks every column got a value, and writes the row group when it is full. */
b2p_status b2p_pq_end_row(b2p_pq_writer *w, b2p_error *err);
/* Writes the last row group and the footer; frees w (also on failure). */
b2p_status b2p_pq_close(b2p_pq_writer *w, b2p_error *err);
/* Frees w without finishing the file. */
void b2p_pq_abort(b2p_pq_writer *w);

/* ---- encoders (for the tests) ----------------------------------------------------------- */

/* The RLE/bit-packed hybrid of n levels (each < 2^bit_width, bit_width 1..8), no length prefix. */
b2p_status b2p_pq_hybrid(b2p_buf *out, const uint8_t *levels, size_t n, int bit_width, b2p_error *err);

/* Thrift compact protocol writer: fields in increasing id order within each struct. */
typedef struct b2p_thrift {
    b2p_buf *out;
    int16_t last[16];          /* last field id per nesting depth */
    int depth;
    bool failed;               /* out of memory or too deep */
} b2p_thrift;
void b2p_thrift_init(b2p_thrift *t, b2p_buf *out);
void b2p_thrift_i32(b2p_thrift *t, int16_t id, int32_t v);
void b2p_thrift_i64(b2p_thrift *t, int16_t id, int64_t v);
void b2p_thrift_i8(b2p_thrift *t, int16_t id, int8_t v);
void b2p_thrift_bool(b2p_thrift *t, int16_t id, bool v);
void b2p_thrift_binary(b2p_thrift *t, int16_t id, const void *p, size_t len);
void b2p_thrift_struct_begin(b2p_thrift *t, int16_t id);   /* id < 0: a list element */
void b2p_thrift_struct_end(b2p_thrift *t);
/* A list header: elem_type is a compact type (5 i32, 8 binary, 12 struct); then the elements
 * (b2p_thrift_list_i32/_binary, or structs opened with id -1). */
void b2p_thrift_list(b2p_thrift *t, int16_t id, int elem_type, size_t count);
void b2p_thrift_list_i32(b2p_thrift *t, int32_t v);
void b2p_thrift_list_binary(b2p_thrift *t, const void *p, size_t len);
void b2p_thrift_stop(b2p_thrift *t);   /* the top-level struct's end */
void b2p_varint(b2p_buf *out, uint64_t v, bool *failed);

#endif
