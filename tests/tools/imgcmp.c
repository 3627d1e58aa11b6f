/* imgcmp: compare two ext4 images byte for byte, except for the primary
 * superblock fields that depend on when and how much a tool wrote
 * (s_wtime, s_wtime_hi, s_kbytes_written) and s_checksum, which covers them.
 * Exit 0 if equal, 1 if not (listing the differing ranges), 2 on error.
 * -x OFFSET:LEN exempts more bytes (a test states each known difference). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB 1024

static long long extra_off[16], extra_len[16];
static int nextra;

static int exempt(long long off)
{
	long long o = off - SB;

	for (int i = 0; i < nextra; i++)
		if (off >= extra_off[i] && off < extra_off[i] + extra_len[i])
			return 1;
	return (o >= 0x30 && o < 0x34) ||	/* s_wtime */
	       (o >= 0x178 && o < 0x180) ||	/* s_kbytes_written */
	       o == 0x274 ||			/* s_wtime_hi */
	       (o >= 0x3fc && o < 0x400);	/* s_checksum */
}

int main(int argc, char **argv)
{
	FILE *a, *b;
	static unsigned char ba[1 << 16], bb[1 << 16];
	long long off = 0, first = -1, last = -1;
	int ranges = 0, shown = 0, quiet = 0;

	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "-q"))
			quiet = 1;
		else if (!strcmp(argv[i], "-x") && i + 1 < argc && nextra < 16 &&
			 sscanf(argv[i + 1], "%lld:%lld", &extra_off[nextra], &extra_len[nextra]) == 2)
			nextra++, i++;
		else
			argc = 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: imgcmp A B [-q] [-x OFFSET:LEN]...\n");
		return 2;
	}
	a = fopen(argv[1], "rb");
	b = fopen(argv[2], "rb");
	if (!a || !b) {
		perror("imgcmp");
		return 2;
	}
	for (;;) {
		size_t na = fread(ba, 1, sizeof(ba), a), nb = fread(bb, 1, sizeof(bb), b);

		if (na != nb) {
			if (!quiet)
				printf("sizes differ near offset %lld\n", off + (long long)(na < nb ? na : nb));
			return 1;
		}
		if (na == 0)
			break;
		if (memcmp(ba, bb, na) != 0) {
			for (size_t i = 0; i < na; i++) {
				long long o = off + (long long)i;

				if (ba[i] == bb[i] || exempt(o))
					continue;
				if (last >= 0 && o == last + 1) {
					last = o;
					continue;
				}
				if (first >= 0 && !quiet && shown++ < 20)
					printf("differ: bytes %lld-%lld (4k block %lld)\n", first, last, first / 4096);
				first = last = o;
				ranges++;
			}
		}
		off += (long long)na;
	}
	if (first >= 0 && !quiet && shown < 20)
		printf("differ: bytes %lld-%lld (4k block %lld)\n", first, last, first / 4096);
	if (ranges && !quiet)
		printf("%d differing range(s)\n", ranges);
	return ranges ? 1 : 0;
}
