/*
 * forkstdio.c - fork against stdio's locks, after glibc's
 * tst-malloc-fork-deadlock: for a few seconds, threads read a file with
 * getline (which holds the FILE's lock and reallocs its line buffer),
 * call fflush(NULL) (which holds stdio's list lock and waits for each
 * FILE's lock), churn malloc/realloc/free, and fork (the child allocates,
 * writes to a FILE and exits).  A fork handler that holds the allocator's
 * locks while fork waits for stdio's list lock deadlocks here.  An alarm
 * turns a hang into a failure (exit 3).  Prints one line, the same under
 * glibc and libmm.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SECONDS 3
#define HANG_SECONDS 60

static FILE *shared;            /* read by the getline threads, under its own lock */
static volatile int stop;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long nforks, nlines, nflush, bad;

static void *reader(void *arg)
{
	(void)arg;
	long n = 0;
	while (!stop) {
		char *line = NULL; /* a fresh buffer each line: getline mallocs and reallocs */
		size_t cap = 0;
		flockfile(shared);
		if (getline(&line, &cap, shared) < 0)
			rewind(shared);
		else
			n++;
		funlockfile(shared);
		free(line);
	}
	pthread_mutex_lock(&count_lock);
	nlines += n;
	pthread_mutex_unlock(&count_lock);
	return NULL;
}

static void *flusher(void *arg)
{
	(void)arg;
	long n = 0;
	while (!stop) {
		fflush(NULL);
		n++;
	}
	pthread_mutex_lock(&count_lock);
	nflush += n;
	pthread_mutex_unlock(&count_lock);
	return NULL;
}

static void *churner(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *slot[64] = {0};
	while (!stop) {
		unsigned i = (seed = seed * 1103515245u + 12345u) >> 26;
		size_t n = (seed >> 8) % 70000 + 1;
		if (slot[i] && (seed & 1))
			slot[i] = realloc(slot[i], n);
		else {
			free(slot[i]);
			slot[i] = malloc(n);
		}
		if (slot[i])
			memset(slot[i], 1, n < 64 ? n : 64);
	}
	for (int i = 0; i < 64; i++)
		free(slot[i]);
	return NULL;
}

static void *forker(void *arg)
{
	(void)arg;
	long n = 0, failed = 0;
	while (!stop) {
		pid_t pid = fork();
		if (pid == 0) {
			/* The child: its heap and stdio must work. */
			char *p = malloc(5000);
			FILE *f = fopen("/dev/null", "w");
			int ok = p && f && fprintf(f, "%s", "x") == 1;
			if (f)
				fclose(f);
			free(p);
			_exit(ok ? 0 : 1);
		}
		if (pid < 0) {
			failed++;
			continue;
		}
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
		n++;
	}
	pthread_mutex_lock(&count_lock);
	nforks += n;
	bad += failed;
	pthread_mutex_unlock(&count_lock);
	return NULL;
}

static void hang(int sig)
{
	(void)sig;
	static const char msg[] = "FAIL: forkstdio hung (deadlock between fork, stdio and malloc)\n";
	(void)!write(1, msg, sizeof msg - 1);
	_exit(3);
}

int main(void)
{
	signal(SIGALRM, hang);
	alarm(HANG_SECONDS);
	shared = tmpfile();
	if (!shared)
		return 2;
	for (int i = 0; i < 2000; i++) /* lines of many lengths: getline grows its buffer */
		fprintf(shared, "%0*d\n", 1 + (i * 37) % 3000, i);
	rewind(shared);

	void *(*roles[])(void *) = {reader, reader, flusher, flusher, churner, churner, forker, forker};
	enum { NT = sizeof roles / sizeof roles[0] };
	pthread_t th[NT];
	for (int i = 0; i < NT; i++)
		if (pthread_create(&th[i], NULL, roles[i], (void *)(uintptr_t)(i + 1)) != 0)
			return 2;
	struct timespec t = {SECONDS, 0};
	nanosleep(&t, NULL);
	stop = 1;
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	if (bad || nforks == 0 || nlines == 0 || nflush == 0) {
		printf("FAIL: %ld forks (%ld failed children), %ld lines, %ld flushes\n", nforks, bad,
		       nlines, nflush);
		return 1;
	}
	printf("fork, getline, fflush(NULL) and realloc in 8 threads for %d s: no deadlock, children ok\n",
	       SECONDS);
	return 0;
}
