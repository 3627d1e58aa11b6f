/* crc32c.c: see crc32c.h.  Part of the small core that the static guest
 * helpers link too, so no libext2fs: a portable slice-by-8 table, and the
 * SSE4.2 crc32 instruction (three lanes at once) when the CPU has it. */
#include <string.h>

#include "lib/core/crc32c.h"

#define CRC32C_POLY_REFLECTED 0x82f63b78U

static uint32_t slice_table[8][256];

static void slice_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY_REFLECTED & (0U - (c & 1)));
		slice_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			slice_table[t][i] = (slice_table[t - 1][i] >> 8) ^
					    slice_table[0][slice_table[t - 1][i] & 0xff];
}

/* Eight bytes per step; the order of the table lookups assumes a
 * little-endian load, so big-endian hosts take the bytewise loop. */
uint32_t crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!slice_table[0][1])
		slice_table_init();
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (len >= 8) {
		uint64_t w;
		uint32_t lo, hi;

		memcpy(&w, p, 8);
		lo = (uint32_t)w ^ crc;
		hi = (uint32_t)(w >> 32);
		crc = slice_table[7][lo & 0xff] ^ slice_table[6][(lo >> 8) & 0xff] ^
		      slice_table[5][(lo >> 16) & 0xff] ^ slice_table[4][lo >> 24] ^
		      slice_table[3][hi & 0xff] ^ slice_table[2][(hi >> 8) & 0xff] ^
		      slice_table[1][(hi >> 16) & 0xff] ^ slice_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
#endif
	while (len--)
		crc = (crc >> 8) ^ slice_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

/* The crc32 instruction takes three cycles but can start one a cycle, so
 * long buffers are run as three lanes of LANE bytes side by side, each
 * from its own register, joined by advancing the first two over the
 * lanes after them.  Advancing a CRC over LANE zero bytes is linear in
 * it: four table lookups, one per byte of it. */
#define LANE 336
static uint32_t lane_shift[4][256];

__attribute__((target("sse4.2"))) static uint32_t over_zeros(uint32_t crc, size_t n)
{
	uint64_t c = crc;

	for (; n >= 8; n -= 8)
		c = _mm_crc32_u64(c, 0);
	return (uint32_t)c;
}

static void lane_shift_init(void)
{
	for (int k = 0; k < 4; k++)
		for (uint32_t b = 0; b < 256; b++)
			lane_shift[k][b] = over_zeros(b << (8 * k), LANE);
}

static uint32_t past_lane(uint32_t c)
{
	return lane_shift[0][c & 0xff] ^ lane_shift[1][(c >> 8) & 0xff] ^
	       lane_shift[2][(c >> 16) & 0xff] ^ lane_shift[3][c >> 24];
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *buf,
								 size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = crc;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	while (len >= 3 * LANE) {
		uint64_t b = 0, d = 0;

		for (size_t i = 0; i < LANE; i += 8) {
			c = _mm_crc32_u64(c, load64(p + i));
			b = _mm_crc32_u64(b, load64(p + LANE + i));
			d = _mm_crc32_u64(d, load64(p + 2 * LANE + i));
		}
		c = past_lane(past_lane((uint32_t)c) ^ (uint32_t)b) ^ (uint32_t)d;
		p += 3 * LANE;
		len -= 3 * LANE;
	}
	while (len >= 8) {
		c = _mm_crc32_u64(c, load64(p));
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t (*impl)(uint32_t, const void *, size_t);

	if (!impl) {
		uint32_t (*chosen)(uint32_t, const void *, size_t) = crc32c_portable;
#if defined(__x86_64__)
		if (__builtin_cpu_supports("sse4.2")) {
			lane_shift_init();
			chosen = crc32c_sse42;
		}
#endif
		impl = chosen;
	}
	return impl(crc, buf, len);
}
