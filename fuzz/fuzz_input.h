/* fuzz_input.h: turning a fuzzer's input into something the library
 * opens: an in-memory file (memfd) it can name as /proc/self/fd/N, and,
 * for images, a sparse encoding that keeps corpus files small. */
#ifndef EXT4DA_FUZZ_INPUT_H
#define EXT4DA_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

/* A sparse image: le32 size in KiB, then records of a le32 KiB index and
 * up to 1024 bytes written there; everything else reads as zeros.  Sizes
 * are clamped to [FUZZ_IMG_MIN_KIB, FUZZ_IMG_MAX_KIB] and indexes wrap,
 * so every input is some image.  fuzz/mkseed writes the format. */
#define FUZZ_IMG_MIN_KIB 64u
#define FUZZ_IMG_MAX_KIB 131072u

struct fuzz_file {
	int fd;
	uint64_t size;
	char path[64];	/* /proc/self/fd/N */
};

/* The raw bytes as a file.  0, or -1 if memfd fails. */
int fuzz_file_raw(struct fuzz_file *f, const uint8_t *data, size_t len);
/* The sparse image the bytes describe, as a file. */
int fuzz_file_image(struct fuzz_file *f, const uint8_t *data, size_t len);
void fuzz_file_close(struct fuzz_file *f);

#endif
