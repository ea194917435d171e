/*
 * runner.c - run one benchmark process and measure it, for bench.sh:
 *
 *   runner TIMEOUT_S PRELOAD PROGRAM [ARGS...]
 *
 * Runs PROGRAM with LD_PRELOAD=PRELOAD (nothing preloaded when PRELOAD is
 * "-"), its stdout sent to /dev/null, and prints one line on stdout:
 *   "ok SECONDS MAXRSS_KB CPU_SECONDS"      it exited 0
 *   "fail SECONDS MAXRSS_KB CPU_SECONDS"    it exited non-zero or died of a signal
 *   "timeout SECONDS MAXRSS_KB CPU_SECONDS" it ran past TIMEOUT_S and was killed
 * SECONDS is wall time (monotonic clock); MAXRSS_KB the child's peak RSS
 * and CPU_SECONDS its user + system time, both from wait4's rusage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
	kill(child, SIGKILL);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: runner TIMEOUT_S PRELOAD|- PROGRAM [ARGS...]\n");
		return 2;
	}
	unsigned timeout = (unsigned)atoi(argv[1]);
	const char *preload = argv[2];

	if (strcmp(preload, "-") != 0 && access(preload, R_OK) != 0) {
		/* ld.so would only warn and run without it: refuse instead */
		fprintf(stderr, "runner: cannot read %s\n", preload);
		printf("fail 0 0 0\n");
		return 0;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	double t0 = now();
	child = fork();
	if (child < 0) {
		perror("runner: fork");
		return 2;
	}
	if (child == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 1);
		if (strcmp(preload, "-") != 0)
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		execv(argv[3], argv + 3);
		perror("runner: exec");
		_exit(127);
	}
	alarm(timeout);
	int status;
	struct rusage ru;
	while (wait4(child, &status, 0, &ru) < 0)
		; /* EINTR from the alarm: the child is being killed; wait again */
	double t = now() - t0;
	alarm(0);
	const char *what = timed_out ? "timeout" : WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "fail";
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("%s %.3f %ld %.3f\n", what, t, ru.ru_maxrss, cpu);
	return 0;
}
