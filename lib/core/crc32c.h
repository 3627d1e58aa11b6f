/* crc32c.h: CRC32C (Castagnoli) without pre- or post-inversion, the same
 * function as libext2fs's ext2fs_crc32c_le(), but using the SSE4.2 crc32
 * instruction when the CPU has it: journal checksums dominate replay time.
 * Part of the small core (no libext2fs) that the guest helpers link too. */
#ifndef EXT4DA_CRC32C_H
#define EXT4DA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The same without SSE4.2, for hosts without it (and for the tests). */
uint32_t crc32c_portable(uint32_t crc, const void *buf, size_t len);

#endif
