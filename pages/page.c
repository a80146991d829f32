/* The page header and the slot array (pages.md 1.1, 1.2, 1.4). */
#include <string.h>

#include "pages.h"

/* The slot array grows down from the end of the page, 2 bytes per slot: this many slots would
 * leave no room for any record after the header. */
#define B2P_MAX_SLOTS ((B2P_PAGE_SIZE - B2P_PAGE_HEADER_SIZE) / 2)

b2p_page_ptr b2p_page_ptr_read(const uint8_t *p) {
    b2p_page_ptr r = {.page = b2p_le32(p), .file = b2p_le16(p + 4)};
    return r;
}

b2p_status b2p_page_header_parse(const uint8_t page[B2P_PAGE_SIZE], uint16_t file_id,
                                 uint32_t page_id, b2p_page_header *out, b2p_error *err) {
    b2p_page_header h;
    memset(&h, 0, sizeof h);
    h.header_version = page[0];
    h.type = page[1];
    h.type_flags = page[2];
    h.level = page[3];
    h.flag_bits = b2p_le16(page + 4);
    h.index_id = b2p_le16(page + 6);
    h.prev = b2p_page_ptr_read(page + 8);
    h.pminlen = b2p_le16(page + 14);
    h.next = b2p_page_ptr_read(page + 16);
    h.slot_count = b2p_le16(page + 22);
    h.obj_id = b2p_le32(page + 24);
    h.free_count = b2p_le16(page + 28);
    h.free_data = b2p_le16(page + 30);
    h.self = b2p_page_ptr_read(page + 32);
    h.lsn.vlf = b2p_le32(page + 40);
    h.lsn.block = b2p_le32(page + 44);
    h.lsn.slot = b2p_le16(page + 48);
    h.ghost_count = b2p_le16(page + 58);
    h.auid = ((uint64_t)h.index_id << 48) | ((uint64_t)h.obj_id << 16);

    if (h.header_version != 1)
        return b2p_fail(err, B2P_ERR_CORRUPT, "page %u:%u: header version %u, expected 1",
                        file_id, page_id, h.header_version);
    if (page_id && (h.self.page != page_id || h.self.file != file_id))
        return b2p_fail(err, B2P_ERR_CORRUPT, "page %u:%u: header says it is page %u:%u",
                        file_id, page_id, h.self.file, h.self.page);
    if (h.slot_count > B2P_MAX_SLOTS)
        return b2p_fail(err, B2P_ERR_CORRUPT, "page %u:%u: %u slots, at most %u fit",
                        file_id, page_id, h.slot_count, (unsigned)B2P_MAX_SLOTS);
    if (h.free_data < B2P_PAGE_HEADER_SIZE ||
        h.free_data > B2P_PAGE_SIZE - 2u * h.slot_count)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "page %u:%u: free data offset %u outside the record area [96, %u]",
                        file_id, page_id, h.free_data, B2P_PAGE_SIZE - 2u * h.slot_count);
    *out = h;
    return B2P_OK;
}

bool b2p_page_in_au(const b2p_page_header *h, uint64_t auid) {
    if (h->auid == auid) return true;
    /* Upgraded databases: index_id 0 on the page, high bits in the catalog (pages.md 1.4). */
    return h->index_id == 0 && (uint32_t)(auid >> 16) == h->obj_id;
}

b2p_status b2p_page_record(const uint8_t page[B2P_PAGE_SIZE], const b2p_page_header *h,
                           uint16_t slot, b2p_record *out, b2p_error *err) {
    if (slot >= h->slot_count)
        return b2p_fail(err, B2P_ERR_INTERNAL, "page %u:%u: slot %u of %u requested",
                        h->self.file, h->self.page, slot, h->slot_count);
    uint16_t offset = b2p_le16(page + B2P_PAGE_SIZE - 2 * (slot + 1));
    if (offset == 0) /* an emptied slot (pages.md 1.1) */
        return b2p_fail(err, B2P_ERR_NOT_FOUND, "page %u:%u slot %u: empty slot",
                        h->self.file, h->self.page, slot);
    /* Records lie between the header and the slot array (pages.md 1.1). */
    if (offset < B2P_PAGE_HEADER_SIZE || offset >= B2P_PAGE_SIZE - 2u * h->slot_count)
        return b2p_fail(err, B2P_ERR_CORRUPT,
                        "page %u:%u slot %u: record offset %u outside the record area [96, %u)",
                        h->self.file, h->self.page, slot, offset,
                        B2P_PAGE_SIZE - 2u * h->slot_count);
    return b2p_record_parse(page, h, slot, offset, out, err);
}
