// SPDX-License-Identifier: MIT
/*
 * rlimit-probe: raise RLIMIT_NOFILE's soft limit to the hard one, through
 * glibc (which uses prlimit64) and through the raw setrlimit system call,
 * as any libc might. Run by check-boot as an ExecStartPre= of zcsendd's
 * own unit, so it meets the unit's system-call filter; fails if either is
 * refused.
 */
#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	struct rlimit rl;
	int libc_err = 0, raw_err = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		printf("rlimit-probe: getrlimit: %s\n", strerror(errno));
		return 1;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		libc_err = errno;
	if (syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl))
		raw_err = errno;
	printf("rlimit-probe: nofile %llu, setrlimit via libc: %s, raw: %s\n",
	       (unsigned long long)rl.rlim_max, strerror(libc_err),
	       strerror(raw_err));
	return libc_err || raw_err;
}
