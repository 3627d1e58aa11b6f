/* check.h: the unit tests' one assertion.  CHECK counts and reports a
 * failed condition and goes on, so one run lists every failure; main()
 * ends with CHECK_SUMMARY(). */
#ifndef EXT4DA_TEST_CHECK_H
#define EXT4DA_TEST_CHECK_H

#include <stdio.h>

static int failures, checks;

#define CHECK(cond)                                                                \
	do {                                                                       \
		checks++;                                                          \
		if (!(cond)) {                                                     \
			failures++;                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                  \
	} while (0)

#define CHECK_SUMMARY() (printf("%d checks, %d failed\n", checks, failures), failures ? 1 : 0)

#endif
