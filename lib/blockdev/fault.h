/* fault.h: fault injection for the tests of interrupted writes.
 *
 * In a build configured with --enable-fault-injection, every write and
 * flush that reaches an image, an undo file or an output copy passes a
 * fault point, and EXT4DA_FAULT_WRITE=N makes the process _exit() with
 * FAULT_EXIT_CODE at the Nth one, before doing it: what a kill at that
 * moment would leave.  In any other build fault_point() is empty and the
 * variable means nothing. */
#ifndef EXT4DA_FAULT_H
#define EXT4DA_FAULT_H

/* The exit status of an injected fault: none of fsck(8)'s codes. */
#define FAULT_EXIT_CODE 99

#ifdef EXT4DA_FAULT_INJECTION
void fault_point(void);
#else
static inline void fault_point(void)
{
}
#endif

#endif
