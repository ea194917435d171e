/*
 * forksignal.c - fork from a signal handler that interrupted malloc or free,
 * after glibc's tst-mallocfork2: a separate sender process sends SIGUSR1 to
 * this one as fast as it can, the handler forks (the child exits at once,
 * the parent records it), and the main loop mallocs and frees small and
 * large blocks.  The interrupted code may hold an allocator lock that the
 * fork handlers must not wait for.  Single-threaded, as glibc's test: with
 * a second thread allocating, glibc's own malloc hangs here too (fork from
 * a handler is async-signal-safe only in a single-threaded process).  An
 * alarm turns a hang into a failure (exit 3).  Prints one line, the same
 * under glibc and libmm.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FORKS 2000         /* forks from the handler before we stop */
#define HANG_SECONDS 60

static volatile sig_atomic_t nforks, nfailed;

static void on_usr1(int sig)
{
	(void)sig;
	int e = errno;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		nfailed++;
	else
		nforks++;
	errno = e;
}

static void hang(int sig)
{
	(void)sig;
	static const char msg[] = "FAIL: forksignal hung (fork from a signal handler inside malloc)\n";
	(void)!write(1, msg, sizeof msg - 1);
	_exit(3);
}

/* The sender: SIGUSR1 to the parent until it goes away. */
static void sender(pid_t target)
{
	for (;;) {
		if (kill(target, SIGUSR1) != 0)
			_exit(0);
		struct timespec t = {0, 200000};
		nanosleep(&t, NULL);
	}
}

static void churn(unsigned seed, void **slot)
{
	unsigned i = (seed = seed * 1103515245u + 12345u) >> 26;
	size_t n = (seed >> 6) % 8 == 0 ? (seed >> 9) % 300000 + 32769 : (seed >> 9) % 2000 + 1;
	free(slot[i]);
	slot[i] = malloc(n);
	if (slot[i])
		memset(slot[i], (int)i, n < 256 ? n : 256);
}

int main(void)
{
	signal(SIGALRM, hang);
	alarm(HANG_SECONDS);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	pid_t me = getpid(), snd = fork();
	if (snd == 0)
		sender(me);
	if (snd < 0)
		return 2;

	void *slot[64] = {0};
	unsigned seed = 1;
	long rounds = 0;
	while (nforks < FORKS) {
		churn(seed = seed * 1103515245u + 12345u, slot);
		rounds++;
		while (waitpid(-1, NULL, WNOHANG) > 0) /* reap the handler's children */
			;
	}
	kill(snd, SIGKILL);
	signal(SIGUSR1, SIG_IGN);
	for (int i = 0; i < 64; i++)
		free(slot[i]);
	while (waitpid(-1, NULL, 0) > 0)
		;
	if (nfailed) {
		printf("FAIL: %d forks from the handler failed\n", (int)nfailed);
		return 1;
	}
	printf("%d forks from a signal handler interrupting malloc/free: no hang\n", FORKS);
	return 0;
}
