/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Start the real hvcapd for a test: a temporary directory holds the
 * socket and the state; readiness is the daemon's own sd_notify READY=1,
 * received on a NOTIFY_SOCKET the harness binds.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct test_daemon {
	pid_t pid;
	/* Short enough that every path below fits a sockaddr_un (108 bytes). */
	char dir[64];		/* the temporary directory */
	char socket[80];	/* dir/io.hvcap */
	char state[80];		/* dir/state */
	char address[88];	/* "unix:" socket */
	char notify[80];	/* dir/notify */
	int notify_fd;
	char log[80];		/* dir/hvcapd.log: the daemon's stderr */
};

static inline const char *test_hvcapd_path(void)
{
	static char path[4096];
	const char *b = getenv("HVCAP_BUILDDIR");

	snprintf(path, sizeof(path), "%s/daemon/hvcapd", b ? b : ".");
	return path;
}

/*
 * Exec hvcapd's argv (argv[0] its path), under the words of
 * $HVCAP_TEST_WRAPPER when that is set: `make check-valgrind` runs every
 * daemon of the suite under memcheck this way.  Returns only on failure.
 */
static inline void test_exec_hvcapd(const char *const *argv)
{
	static char words[4096];
	const char *all[128];
	const char *w = getenv("HVCAP_TEST_WRAPPER");
	size_t n = 0;

	if (w && *w && strlen(w) < sizeof(words)) {
		char *save = NULL;

		memcpy(words, w, strlen(w) + 1);
		for (char *t = strtok_r(words, " \t", &save); t && n < 64; t = strtok_r(NULL, " \t", &save))
			all[n++] = t;
	}
	for (size_t i = 0; argv[i] && n < 127; i++)
		all[n++] = argv[i];
	all[n] = NULL;
	execvp(all[0], (char *const *)all);
}

/* Wait up to timeout_ms for a datagram containing want on the notify socket. */
static inline int test_daemon_wait_notify(struct test_daemon *td, const char *want, int timeout_ms)
{
	char buf[4096];
	struct pollfd p = { .fd = td->notify_fd, .events = POLLIN };

	for (;;) {
		ssize_t n;
		int r = poll(&p, 1, timeout_ms);

		if (r <= 0)
			return r == 0 ? -ETIMEDOUT : -errno;
		n = recv(td->notify_fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		if (strstr(buf, want))
			return 0;
	}
}

/*
 * Start hvcapd with --listen and --state-dir in a fresh (or the given)
 * directory plus the NULL-terminated extra arguments.  Returns 0 once the
 * daemon said READY=1, -ETIMEDOUT after 20 s, or -errno.  reuse_dir keeps
 * td->dir (a restart over the same state).
 */
static inline int test_daemon_start_argv(struct test_daemon *td, bool reuse_dir, const char *const *extra)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *argv[80];
	size_t n = 0;
	int r;

	if (!reuse_dir) {
		snprintf(td->dir, sizeof(td->dir), "/tmp/hvcapd-test.XXXXXX");
		if (!mkdtemp(td->dir))
			return -errno;
	}
	snprintf(td->socket, sizeof(td->socket), "%s/io.hvcap", td->dir);
	snprintf(td->state, sizeof(td->state), "%s/state", td->dir);
	snprintf(td->address, sizeof(td->address), "unix:%s", td->socket);
	snprintf(td->notify, sizeof(td->notify), "%s/notify", td->dir);
	snprintf(td->log, sizeof(td->log), "%s/hvcapd.log", td->dir);
	unlink(td->notify);

	td->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (td->notify_fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", td->notify);
	if (bind(td->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;

	argv[n++] = test_hvcapd_path();
	argv[n++] = "--listen";
	argv[n++] = td->socket;
	argv[n++] = "--state-dir";
	argv[n++] = td->state;
	for (size_t i = 0; extra && extra[i] && n < 78; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	td->pid = fork();
	if (td->pid < 0)
		return -errno;
	if (td->pid == 0) {
		int fd = open(td->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		setenv("NOTIFY_SOCKET", td->notify, 1);
		test_exec_hvcapd(argv);
		_exit(127);
	}
	r = test_daemon_wait_notify(td, "READY=1", 20000);
	if (r < 0) {
		int status;

		kill(td->pid, SIGKILL);
		waitpid(td->pid, &status, 0);
		td->pid = 0;
	}
	return r;
}

/* Stop with sig and reap; the exit status (or 128 + signal). */
static inline int test_daemon_stop(struct test_daemon *td, int sig)
{
	int status = 0;

	if (td->pid <= 0)
		return -ECHILD;
	kill(td->pid, sig);
	if (waitpid(td->pid, &status, 0) < 0)
		return -errno;
	td->pid = 0;
	if (td->notify_fd >= 0)
		close(td->notify_fd);
	td->notify_fd = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Remove the temporary directory (after test_daemon_stop()). */
static inline void test_daemon_cleanup(struct test_daemon *td)
{
	char cmd[400];

	if (td->dir[0] && strncmp(td->dir, "/tmp/hvcapd-test.", 17) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", td->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", td->dir);
	}
}
