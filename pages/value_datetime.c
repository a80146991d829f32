/* pages/value_datetime.c: date, time(n), datetime2(n), datetimeoffset(n), smalldatetime and
 * datetime -> PostgreSQL date / time / timestamp / timestamptz text.
 *
 * Everything is reduced to (days since 0001-01-01, microseconds since midnight) and printed
 * as YYYY-MM-DD HH:MM:SS[.ffffff] with trailing fraction zeros dropped, as PostgreSQL does.
 * Encodings: pages.md 6. Target types and rounding: the output contract (datetime ->
 * timestamp(3), datetime2(n) -> timestamp(min(n,6)), time(n) -> time(min(n,6)),
 * datetimeoffset -> timestamptz printed in UTC with +00). */
#include "pages/value_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define USECS_PER_DAY 86400000000LL
#define MAX_DAYS 3652058      /* 9999-12-31, days since 0001-01-01 */
#define DAYS_1900 693595      /* 1900-01-01, days since 0001-01-01 */

/* Proleptic Gregorian calendar date of a day count since 0001-01-01 (days >= 0), computed
 * in 400-year eras counted from 0000-03-01 so that the leap day ends a year. */
static void civil(int64_t days, long *y, int *m, int *d) {
    int64_t z = days + 306; /* 0001-01-01 is day 306 after 0000-03-01 */
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;                                   /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                   /* March = 0 */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (long)(yoe + era * 400 + (*m <= 2));
}

/* The longest text written at once: "YYYY-MM-DD HH:MM:SS.ffffff" with room to spare. */
enum { STAMP_MAX = 48 };

/* Writes v zero-padded to width digits (printf's %0*lu). The fields of a date or a clock
 * always fit their width (the one exception, year 10000 after a rounding carry, takes the
 * general path), so they are written digit by digit without a call. */
static size_t put_field(uint64_t v, unsigned width, char *dst) {
    if (width == 2 && v < 100) {
        dst[0] = (char)('0' + v / 10);
        dst[1] = (char)('0' + v % 10);
        return 2;
    }
    if (width == 4 && v < 10000) {
        unsigned u = (unsigned)v;
        dst[0] = (char)('0' + u / 1000);
        dst[1] = (char)('0' + u / 100 % 10);
        dst[2] = (char)('0' + u / 10 % 10);
        dst[3] = (char)('0' + u % 10);
        return 4;
    }
    return b2p_v_uint_text(v, width, dst);
}

/* Writes "YYYY-MM-DD" (%04ld-%02d-%02d) to dst; returns the length. */
static size_t format_date(int64_t days, char *dst) {
    long y;
    int m, d;
    civil(days, &y, &m, &d);
    size_t k = put_field((uint64_t)y, 4, dst);
    dst[k++] = '-';
    k += put_field((uint64_t)m, 2, dst + k);
    dst[k++] = '-';
    k += put_field((uint64_t)d, 2, dst + k);
    return k;
}

/* Writes HH:MM:SS[.ffffff] of usec microseconds since midnight (up to 24:00:00 for time) to
 * dst, the fraction without trailing zeros; returns the length. */
static size_t format_clock(int64_t usec, char *dst) {
    uint64_t secs = (uint64_t)(usec / 1000000);
    uint64_t frac = (uint64_t)(usec % 1000000);
    size_t k = put_field(secs / 3600, 2, dst);
    dst[k++] = ':';
    k += put_field(secs / 60 % 60, 2, dst + k);
    dst[k++] = ':';
    k += put_field(secs % 60, 2, dst + k);
    if (frac == 0) return k;
    unsigned digits = 6;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    dst[k++] = '.';
    return k + b2p_v_uint_text(frac, digits, dst + k);
}

static b2p_status put_date(b2p_buf *out, int64_t days, b2p_error *err) {
    b2p_status st = b2p_buf_reserve(out, STAMP_MAX, err);
    if (st == B2P_OK) b2p_v_commit(out, format_date(days, out->data + out->len));
    return st;
}

static b2p_status put_clock(b2p_buf *out, int64_t usec, b2p_error *err) {
    b2p_status st = b2p_buf_reserve(out, STAMP_MAX, err);
    if (st == B2P_OK) b2p_v_commit(out, format_clock(usec, out->data + out->len));
    return st;
}

static b2p_status put_timestamp(b2p_buf *out, int64_t days, int64_t usec, b2p_error *err) {
    if (usec >= USECS_PER_DAY) { /* a rounding carry into the next day */
        days++;
        usec -= USECS_PER_DAY;
    }
    b2p_status st = b2p_buf_reserve(out, STAMP_MAX, err);
    if (st != B2P_OK) return st;
    char *d = out->data + out->len;
    size_t k = format_date(days, d);
    d[k++] = ' ';
    k += format_clock(usec, d + k);
    b2p_v_commit(out, k);
    return B2P_OK;
}

b2p_status b2p_v_date(b2p_buf *out, const uint8_t *p, size_t len, b2p_error *err) {
    if (len != 3) return b2p_fail(err, B2P_ERR_CORRUPT, "date value of %zu bytes (expected 3)", len);
    uint32_t days = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
    if (days > MAX_DAYS) return b2p_fail(err, B2P_ERR_CORRUPT, "date value %lu days is after 9999-12-31", (unsigned long)days);
    return put_date(out, days, err);
}

/* datetime: u32 ticks of 1/300 s since midnight @0, i32 days since 1900-01-01 @4. */
b2p_status b2p_v_datetime(b2p_buf *out, const uint8_t *p, size_t len, b2p_error *err) {
    if (len != 8) return b2p_fail(err, B2P_ERR_CORRUPT, "datetime value of %zu bytes (expected 8)", len);
    uint32_t ticks = b2p_le32(p);
    int32_t days = (int32_t)b2p_le32(p + 4);
    if (ticks >= 300u * 86400u)
        return b2p_fail(err, B2P_ERR_CORRUPT, "datetime time part %lu ticks is past midnight", (unsigned long)ticks);
    /* 1753-01-01 .. 9999-12-31 */
    if (days < -53690 || days > MAX_DAYS - DAYS_1900)
        return b2p_fail(err, B2P_ERR_CORRUPT, "datetime day %ld is outside 1753-01-01..9999-12-31", (long)days);
    /* SQL Server shows a tick count as milliseconds rounded to nearest (1 -> .003, 2 -> .007);
     * ticks * 10 / 3 is never exactly halfway, and never reaches the next second. */
    int64_t ms = ((int64_t)ticks * 20 + 3) / 6;
    return put_timestamp(out, (int64_t)days + DAYS_1900, ms * 1000, err);
}

/* smalldatetime: u16 minutes since midnight @0, u16 days since 1900-01-01 @2. */
b2p_status b2p_v_smalldatetime(b2p_buf *out, const uint8_t *p, size_t len, b2p_error *err) {
    if (len != 4) return b2p_fail(err, B2P_ERR_CORRUPT, "smalldatetime value of %zu bytes (expected 4)", len);
    unsigned minutes = b2p_le16(p);
    unsigned days = b2p_le16(p + 2);
    if (minutes >= 1440)
        return b2p_fail(err, B2P_ERR_CORRUPT, "smalldatetime time part %u minutes is past midnight", minutes);
    return put_timestamp(out, (int64_t)days + DAYS_1900, (int64_t)minutes * 60000000, err);
}

/* Microseconds of a time(n) count of 10^-n s units. For n = 7 the target is time(6) /
 * timestamp(6), and what lands there is what PostgreSQL makes of the 7-digit text: it reads
 * the fraction with strtod and rounds fraction * 10^6 with rint (half to even, on the
 * double), so that is reproduced literally (e.g. .0000005 -> 0, .0000015 -> .000002,
 * .1234565 -> .123456, all checked on PostgreSQL 15). */
static int64_t units_to_usec(uint64_t units, unsigned scale) {
    static const int64_t pow10[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    if (scale <= 6) return (int64_t)units * pow10[scale];
    int64_t secs = (int64_t)(units / 10000000u);
    char frac[16];
    snprintf(frac, sizeof frac, ".%07lu", (unsigned long)(units % 10000000u));
    return secs * 1000000 + (int64_t)rint(strtod(frac, NULL) * 1000000.0);
}

b2p_status b2p_v_time_family(b2p_buf *out, uint8_t xtype, unsigned scale, const uint8_t *p,
                             size_t len, b2p_error *err) {
    static const char *const names[] = {"time", "datetime2", "datetimeoffset"};
    const char *name = names[xtype - B2P_XT_TIME];
    if (scale > 7) return b2p_fail(err, B2P_ERR_CORRUPT, "%s(%u) is not a valid type", name, scale);
    size_t tlen = scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
    size_t want = tlen + (xtype == B2P_XT_TIME ? 0 : 3) + (xtype == B2P_XT_DATETIMEOFFSET ? 2 : 0);
    if (len != want)
        return b2p_fail(err, B2P_ERR_CORRUPT, "%s(%u) value of %zu bytes (expected %zu)", name, scale, len, want);
    uint64_t units = 0;
    for (size_t i = 0; i < tlen; i++) units |= (uint64_t)p[i] << (8 * i);
    uint64_t per_day = 86400;
    for (unsigned i = 0; i < scale; i++) per_day *= 10;
    if (units >= per_day) return b2p_fail(err, B2P_ERR_CORRUPT, "%s time part is past midnight", name);
    int64_t usec = units_to_usec(units, scale);
    if (xtype == B2P_XT_TIME) return put_clock(out, usec, err); /* 24:00:00 is a valid PG time */
    const uint8_t *dp = p + tlen;
    uint32_t days = (uint32_t)dp[0] | ((uint32_t)dp[1] << 8) | ((uint32_t)dp[2] << 16);
    if (days > MAX_DAYS) return b2p_fail(err, B2P_ERR_CORRUPT, "%s date part is after 9999-12-31", name);
    if (xtype == B2P_XT_DATETIMEOFFSET) {
        /* The stored time and date are already UTC; the offset only says how it was entered. */
        int offset = (int16_t)b2p_le16(dp + 3);
        if (offset < -840 || offset > 840)
            return b2p_fail(err, B2P_ERR_CORRUPT, "datetimeoffset offset %d minutes is outside +-14:00", offset);
    }
    b2p_status st = put_timestamp(out, days, usec, err);
    if (st == B2P_OK && xtype == B2P_XT_DATETIMEOFFSET) st = b2p_buf_puts(out, "+00", err);
    return st;
}
