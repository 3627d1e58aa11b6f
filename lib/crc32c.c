/* crc32c.c: see crc32c.h. */
#include <string.h>

#include <ext2fs/ext2fs.h>

#include "lib/crc32c.h"

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *buf,
								 size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = crc;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

static uint32_t crc32c_soft(uint32_t crc, const void *buf, size_t len)
{
	return ext2fs_crc32c_le(crc, buf, len);
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t (*impl)(uint32_t, const void *, size_t);

	if (!impl) {
		impl = crc32c_soft;
#if defined(__x86_64__)
		if (__builtin_cpu_supports("sse4.2"))
			impl = crc32c_sse42;
#endif
	}
	return impl(crc, buf, len);
}
