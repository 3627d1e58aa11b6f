/* fault.c: see fault.h.  Compiled to nothing unless configured with
 * --enable-fault-injection. */
#ifdef EXT4DA_FAULT_INJECTION
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/blockdev/fault.h"

void fault_point(void)
{
	static long target = -1;
	static long count;

	if (target < 0) {
		const char *s = getenv("EXT4DA_FAULT_WRITE");

		target = s && *s ? strtol(s, NULL, 10) : 0;
	}
	if (target > 0 && ++count == target) {
		char msg[80];
		int n = snprintf(msg, sizeof(msg), "fault injected before write %ld\n", count);

		if (write(STDERR_FILENO, msg, (size_t)n) < 0)
			_exit(FAULT_EXIT_CODE);
		_exit(FAULT_EXIT_CODE);
	}
}
#else
/* ISO C wants something in a translation unit. */
typedef int fault_injection_disabled;
#endif
