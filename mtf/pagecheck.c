/* Page identity and integrity: which 8 KB units of a data stream are pages, SQL Server's page
 * checksum, torn-page bits, and the backup checksum of CSUM streams.
 *
 * Page header fields used here (pages.md 1.2): 0 header version (1), 1 type, 4 u16 flag bits
 * (0x200 checksum, 0x100 torn-page bits), 32 u32 page id, 36 u16 file id, 60 u32 checksum or
 * torn bits. */
#define B2P_MTF_INTERNAL
#include "mtf_int.h"

#include <string.h>

enum {
    SECTOR = 512,
    SECTORS = B2P_PAGE_SIZE / SECTOR,
    FLAG_TORN = 0x100,
    FLAG_CHECKSUM = 0x200,
    FILLER_TYPE = 0x65,     /* backup-buffer filler units (container.md 4.2) */
    MAX_PAGE_TYPE = 20,
};

static uint32_t sector_xor(const uint8_t *s) {
    /* XOR of 128 little-endian words; XOR commutes with byte order, so fold as u64 then halve. */
    uint64_t x = 0;
    for (int i = 0; i < SECTOR; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        x ^= w;
    }
    uint8_t b[8];
    memcpy(b, &x, 8);
    return b2p_le32(b) ^ b2p_le32(b + 4);
}

uint32_t b2p_page_checksum(const uint8_t page[B2P_PAGE_SIZE]) {
    uint32_t sum = 0;
    for (unsigned s = 0; s < SECTORS; s++) {
        uint32_t x = sector_xor(page + s * SECTOR);
        if (s == 0) x ^= b2p_le32(page + 60); /* the stored checksum counts as zero */
        sum ^= b2p_rotl32(x, 15 - s);
    }
    return sum;
}

/* With torn-page detection, SQL Server replaces the low 2 bits of the last byte of every
 * sector with a signature that flips on each write, and keeps the replaced bits in the torn
 * field: bits 2k..2k+1 for sector k (pages.md 1.6). Sector 0's signature is the low 2 bits of
 * the torn field itself. A torn write leaves sectors with different signatures. */
bool b2p_page_restore_torn_bits(uint8_t page[B2P_PAGE_SIZE]) {
    uint32_t torn = b2p_le32(page + 60);
    uint8_t signature = (uint8_t)(torn & 3);
    bool whole = true;
    for (unsigned k = 1; k < SECTORS; k++) {
        uint8_t *last = &page[k * SECTOR + SECTOR - 1];
        if ((*last & 3) != signature) whole = false;
        *last = (uint8_t)((*last & 0xFC) | ((torn >> (2 * k)) & 3));
    }
    return whole;
}

b2p_unit_kind b2p_unit_classify(const uint8_t unit[B2P_PAGE_SIZE], uint16_t *file_id,
                                uint32_t *page_id) {
    *file_id = b2p_le16(unit + 36);
    *page_id = b2p_le32(unit + 32);
    if (unit[0] == 0) {
        static const uint8_t zero[B2P_PAGE_SIZE];
        if (memcmp(unit, zero, sizeof zero) == 0) return B2P_UNIT_ZERO;
    }
    if (unit[0] != 1) return B2P_UNIT_STALE;
    if (unit[1] == FILLER_TYPE && *file_id == 0 && *page_id == 0) return B2P_UNIT_FILLER;
    if (*file_id == 0 || unit[1] == 0 || unit[1] > MAX_PAGE_TYPE) return B2P_UNIT_STALE;
    return B2P_UNIT_PAGE;
}

void b2p_backup_checksum_update(b2p_csum_state *st, const uint8_t *data, size_t len) {
    /* XOR of each 512-byte sector's words, rotated left by (31 - sector) mod 32 (container.md
     * 10.4). A short final piece is padded with zeros. */
    while (len > 0) {
        uint32_t x;
        if (len >= SECTOR) {
            x = sector_xor(data);
            data += SECTOR;
            len -= SECTOR;
        } else {
            uint8_t tail[SECTOR] = {0};
            memcpy(tail, data, len);
            x = sector_xor(tail);
            len = 0;
        }
        st->value ^= b2p_rotl32(x, (unsigned)((31 - (st->sector % 32)) % 32));
        st->sector++;
    }
}
