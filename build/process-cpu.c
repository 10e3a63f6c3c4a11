/* process-cpu PID... — prints each process's CPU time in nanoseconds, one per line.
 *
 * build/cpu-bench.sh reads the brokers' CPU with it before and after each measurement: the
 * process clock (clock_getcpuclockid) counts every thread, also those that ended meanwhile, in
 * nanoseconds, where /proc/PID/stat moves in 10 ms ticks and /proc/PID/task/{tid}/schedstat loses
 * ended threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		clockid_t clock;
		struct timespec now;
		int error = clock_getcpuclockid((pid_t)atol(argv[i]), &clock);
		if (error == 0 && clock_gettime(clock, &now) != 0)
			error = 1;
		if (error != 0) {
			fprintf(stderr, "process-cpu: no CPU clock for process %s: %s\n", argv[i], strerror(error));
			return 1;
		}
		printf("%lld\n", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
	}
	return 0;
}
