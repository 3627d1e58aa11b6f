/* mkseed IMAGE OUT: write IMAGE in the sparse form the image harnesses
 * read (fuzz_input.h): its size in KiB, then each KiB that is not all
 * zeros, with its index.  A fresh or crashed filesystem is mostly zeros,
 * so seeds stay small. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void put_le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	fwrite(b, 1, 4, f);
}

int main(int argc, char **argv)
{
	static const uint8_t zero[1024];
	uint8_t buf[1024];
	FILE *in, *out;
	long size;
	size_t n;

	if (argc != 3) {
		fprintf(stderr, "usage: mkseed IMAGE OUT\n");
		return 16;
	}
	in = fopen(argv[1], "rb");
	if (!in || fseek(in, 0, SEEK_END) || (size = ftell(in)) < 0 || fseek(in, 0, SEEK_SET)) {
		perror(argv[1]);
		return 8;
	}
	if (size / 1024 > UINT32_MAX) {
		fprintf(stderr, "mkseed: %s: too large\n", argv[1]);
		return 8;
	}
	out = fopen(argv[2], "wb");
	if (!out) {
		perror(argv[2]);
		return 8;
	}
	put_le32(out, (uint32_t)((size + 1023) / 1024));
	for (uint32_t i = 0; (n = fread(buf, 1, sizeof(buf), in)) > 0; i++) {
		if (memcmp(buf, zero, n) == 0)
			continue;
		put_le32(out, i);
		fwrite(buf, 1, n, out);
	}
	fclose(in);
	return fclose(out) == 0 ? 0 : 8;
}
