/* snaplog: build a dm-log-writes log (QEMU layout, 512-byte sectors) from a
 * series of image snapshots: for each snapshot, one write entry per run of
 * changed 4 KiB chunks since the previous image, then a FLUSH entry.
 *   snaplog [--defer CHUNK,...] [--mark NAME] LOG BASE SNAP...
 * --defer holds the listed 4 KiB chunks back from the last snapshot's epoch
 * and writes them in an extra epoch after it: the log of a disk that wrote
 * the journal commit before the data it maps.  Exit 0, or 1 on error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 4096
#define SECTOR 512

static FILE *out;
static uint64_t entries;
static uint8_t zero[SECTOR];

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void entry(uint64_t sector, uint64_t nr, uint64_t flags, const uint8_t *data)
{
	uint8_t h[SECTOR] = { 0 };

	put64(h, sector);
	put64(h + 8, nr);
	put64(h + 16, flags);
	fwrite(h, 1, SECTOR, out);
	if (nr)
		fwrite(data, 1, nr * SECTOR, out);
	entries++;
}

static uint8_t *load(const char *path, long *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	if (!f || fseek(f, 0, SEEK_END) || (*size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		perror(path);
		exit(1);
	}
	buf = malloc((size_t)*size);
	if (!buf || fread(buf, 1, (size_t)*size, f) != (size_t)*size) {
		perror(path);
		exit(1);
	}
	fclose(f);
	return buf;
}

static int deferred(const uint64_t *d, size_t n, uint64_t c)
{
	for (size_t i = 0; i < n; i++)
		if (d[i] == c)
			return 1;
	return 0;
}

/* Write the chunks of cur that differ from prev (and, if only_defer >= 0,
 * are or are not deferred), coalesced into runs. */
static void diff(const uint8_t *prev, const uint8_t *cur, long size, const uint64_t *d,
		 size_t nd, int only_defer)
{
	uint64_t chunks = (uint64_t)size / CHUNK;

	for (uint64_t c = 0; c < chunks;) {
		uint64_t run = 0;

		while (c + run < chunks && run < 64 &&
		       memcmp(prev + (c + run) * CHUNK, cur + (c + run) * CHUNK, CHUNK) &&
		       (only_defer < 0 || deferred(d, nd, c + run) == only_defer))
			run++;
		if (run) {
			entry(c * CHUNK / SECTOR, run * CHUNK / SECTOR, 0, cur + c * CHUNK);
			c += run;
		} else {
			c++;
		}
	}
}

int main(int argc, char **argv)
{
	uint64_t defer[4096];
	size_t nd = 0;
	const char *mark = NULL;
	uint8_t super[SECTOR] = { 0 };
	uint8_t *prev, *cur;
	long size, sz;
	int a = 1;

	for (; a < argc && argv[a][0] == '-'; a += 2) {
		if (!strcmp(argv[a], "--defer") && a + 1 < argc) {
			for (char *t = strtok(argv[a + 1], ","); t && nd < 4096; t = strtok(NULL, ","))
				defer[nd++] = strtoull(t, NULL, 0);
		} else if (!strcmp(argv[a], "--mark") && a + 1 < argc) {
			mark = argv[a + 1];
		} else {
			break;
		}
	}
	if (argc - a < 3) {
		fprintf(stderr, "usage: snaplog [--defer CHUNKS] [--mark NAME] LOG BASE SNAP...\n");
		return 1;
	}
	out = fopen(argv[a], "wb");
	if (!out) {
		perror(argv[a]);
		return 1;
	}
	fwrite(super, 1, SECTOR, out);
	prev = load(argv[a + 1], &size);
	for (int i = a + 2; i < argc; i++) {
		int last = i == argc - 1;

		cur = load(argv[i], &sz);
		if (sz != size) {
			fprintf(stderr, "snaplog: %s differs in size from the base\n", argv[i]);
			return 1;
		}
		diff(prev, cur, size, defer, nd, last && nd ? 0 : -1);
		entry(0, 0, 1, zero);
		if (last && nd) {
			diff(prev, cur, size, defer, nd, 1);
			entry(0, 0, 1, zero);
		}
		if (mark) {
			uint8_t h[SECTOR] = { 0 };

			put64(h + 16, 8);
			put64(h + 24, strlen(mark));
			memcpy(h + 32, mark, strlen(mark) < 400 ? strlen(mark) : 400);
			fwrite(h, 1, SECTOR, out);
			entries++;
		}
		free(prev);
		prev = cur;
	}
	put64(super, 0x6a736677736872ULL);
	put64(super + 8, 1);
	put64(super + 16, entries);
	super[24] = SECTOR & 0xff;
	super[25] = SECTOR >> 8;
	fseek(out, 0, SEEK_SET);
	fwrite(super, 1, SECTOR, out);
	free(prev);
	return fclose(out) ? 1 : 0;
}
