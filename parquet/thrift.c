/* Thrift compact protocol, the part Parquet's metadata needs: field headers with id deltas,
 * zigzag varints, binaries, lists, nested structs. */
#include <string.h>

#include "parquet/parquet.h"

enum { T_TRUE = 1, T_FALSE = 2, T_BYTE = 3, T_I32 = 5, T_I64 = 6, T_BINARY = 8, T_LIST = 9, T_STRUCT = 12 };

static void put(b2p_thrift *t, const void *p, size_t n) {
    if (!t->failed && b2p_buf_append(t->out, p, n, NULL) != B2P_OK)
        t->failed = true;
}

void b2p_varint(b2p_buf *out, uint64_t v, bool *failed) {
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    if (b2p_buf_append(out, b, n, NULL) != B2P_OK)
        *failed = true;
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static void field(b2p_thrift *t, int16_t id, int type) {
    int16_t delta = (int16_t)(id - t->last[t->depth]);
    if (delta > 0 && delta <= 15) {
        uint8_t b = (uint8_t)(delta << 4 | type);
        put(t, &b, 1);
    } else {
        uint8_t b = (uint8_t)type;
        put(t, &b, 1);
        if (!t->failed)
            b2p_varint(t->out, zigzag(id), &t->failed);
    }
    t->last[t->depth] = id;
}

void b2p_thrift_init(b2p_thrift *t, b2p_buf *out) {
    memset(t, 0, sizeof *t);
    t->out = out;
}

void b2p_thrift_i32(b2p_thrift *t, int16_t id, int32_t v) {
    field(t, id, T_I32);
    if (!t->failed)
        b2p_varint(t->out, zigzag(v), &t->failed);
}

void b2p_thrift_i64(b2p_thrift *t, int16_t id, int64_t v) {
    field(t, id, T_I64);
    if (!t->failed)
        b2p_varint(t->out, zigzag(v), &t->failed);
}

void b2p_thrift_i8(b2p_thrift *t, int16_t id, int8_t v) {
    field(t, id, T_BYTE);
    put(t, &v, 1);
}

void b2p_thrift_bool(b2p_thrift *t, int16_t id, bool v) { field(t, id, v ? T_TRUE : T_FALSE); }

void b2p_thrift_list_binary(b2p_thrift *t, const void *p, size_t len) {
    if (!t->failed)
        b2p_varint(t->out, len, &t->failed);
    put(t, p, len);
}

void b2p_thrift_binary(b2p_thrift *t, int16_t id, const void *p, size_t len) {
    field(t, id, T_BINARY);
    b2p_thrift_list_binary(t, p, len);
}

void b2p_thrift_struct_begin(b2p_thrift *t, int16_t id) {
    if (id >= 0)
        field(t, id, T_STRUCT);
    if (t->depth + 1 >= (int)(sizeof t->last / sizeof t->last[0])) {
        t->failed = true;
        return;
    }
    t->last[++t->depth] = 0;
}

void b2p_thrift_struct_end(b2p_thrift *t) {
    uint8_t z = 0;
    put(t, &z, 1);
    if (t->depth > 0)
        t->depth--;
}

void b2p_thrift_stop(b2p_thrift *t) {
    uint8_t z = 0;
    put(t, &z, 1);
}

void b2p_thrift_list(b2p_thrift *t, int16_t id, int elem_type, size_t count) {
    field(t, id, T_LIST);
    if (count < 15) {
        uint8_t b = (uint8_t)(count << 4 | (size_t)elem_type);
        put(t, &b, 1);
    } else {
        uint8_t b = (uint8_t)(0xf0 | elem_type);
        put(t, &b, 1);
        if (!t->failed)
            b2p_varint(t->out, count, &t->failed);
    }
}

void b2p_thrift_list_i32(b2p_thrift *t, int32_t v) {
    if (!t->failed)
        b2p_varint(t->out, zigzag(v), &t->failed);
}
