/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Round trips over a Unix stream socket with Varlink's framing (one JSON
 * message, then a NUL), against hvcapd or against the echo server below, so
 * that one run compares a method with the cost of the socket alone:
 *
 *   varlink-rtt echo PATH REPLY_BYTES
 *       serve PATH: answer every NUL-terminated message with REPLY_BYTES
 *       bytes (a JSON string, then the NUL), as hvcapd answers a call;
 *       poll() over every connection, one process, as hvcapd's loop
 *   varlink-rtt latency PATH MESSAGE_FILE COUNT
 *       one client, one call at a time: prints p50, p99 and the mean round
 *       trip in ns and the reply size in bytes
 *   varlink-rtt throughput PATH MESSAGE_FILE CLIENTS DEPTH SECONDS
 *       CLIENTS processes, each with its own connection keeping DEPTH calls
 *       in flight (pipelining): prints calls per second, all clients summed
 *   varlink-rtt scale PATH PID HAVE TARGET SAMPLE
 *       with HAVE VMs registered by earlier runs (ids 1..HAVE), register VMs
 *       of 4 vCPUs (io.hvcap.Vm.Create, pipelined) until TARGET exist, print
 *       hvcapd's (PID) memory, then time SAMPLE more Creates one at a time
 *       and SAMPLE io.hvcap.Vm.Get spread over all TARGET: p50/p99 of each
 *   varlink-rtt ready COUNT -- COMMAND...
 *       COUNT times: exec COMMAND with $NOTIFY_SOCKET set to a datagram
 *       socket bound here, time until READY=1 arrives, stop it with SIGTERM;
 *       prints the p50 and the best
 *
 * The client reads whole replies and checks nothing but the framing and,
 * for hvcapd, that the first reply is not an error: bench/run-all.sh runs it.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4() */
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int fail(const char *what)
{
	fprintf(stderr, "varlink-rtt: %s: %s\n", what, strerror(errno));
	return 1;
}

static int unix_address(const char *path, struct sockaddr_un *ret_sa)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	*ret_sa = sa;
	return 0;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (unix_address(path, &sa) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static char *read_message(const char *file, size_t *ret_len)
{
	FILE *f = fopen(file, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0'; /* the frame's NUL: sent with the message */
	*ret_len = (size_t)n + 1;
	return buf;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A reader that splits a stream at NULs. */
struct framer {
	char *buf;
	size_t cap, len, scan;
};

/* Read until `want` more whole messages arrived; returns the bytes of the
 * first message seen (for the reply size), or -1. */
static long framer_read(struct framer *fr, int fd, int want, char *first, size_t first_cap)
{
	long first_len = -1;

	while (want > 0) {
		char *nul;
		ssize_t n;

		while (want > 0 && (nul = memchr(fr->buf + fr->scan, '\0', fr->len - fr->scan))) {
			size_t end = (size_t)(nul - fr->buf) + 1;

			if (first_len < 0) {
				first_len = (long)end;
				if (first)
					snprintf(first, first_cap, "%s", fr->buf);
			}
			memmove(fr->buf, fr->buf + end, fr->len - end);
			fr->len -= end;
			fr->scan = 0;
			want--;
		}
		if (want == 0)
			break;
		fr->scan = fr->len;
		if (fr->cap - fr->len < 65536) {
			fr->cap = fr->cap * 2 + 65536;
			fr->buf = realloc(fr->buf, fr->cap);
			if (!fr->buf)
				return -1;
		}
		n = read(fd, fr->buf + fr->len, fr->cap - fr->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		fr->len += (size_t)n;
	}
	return first_len;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int run_latency(const char *path, const char *file, long count)
{
	struct framer fr = { 0 };
	char first[200];
	size_t len;
	char *msg = read_message(file, &len);
	double *t, sum = 0;
	long reply = 0;
	int fd;

	if (!msg)
		return fail(file);
	fd = connect_unix(path);
	if (fd < 0)
		return fail(path);
	t = calloc((size_t)count, sizeof(*t));
	/* Warm up: the daemon's allocator, caches, the branch predictors. */
	for (long i = -count / 10 - 10; i < count; i++) {
		double t0 = now_ns();
		long r;

		if (write_all(fd, msg, len) < 0)
			return fail("write");
		r = framer_read(&fr, fd, 1, i == 0 ? first : NULL, sizeof(first));
		if (r < 0)
			return fail("read");
		if (i >= 0) {
			t[i] = now_ns() - t0;
			sum += t[i];
		}
		if (i == 0) {
			reply = r;
			if (strstr(first, "\"error\"")) {
				fprintf(stderr, "varlink-rtt: error reply: %s\n", first);
				return 1;
			}
		}
	}
	qsort(t, (size_t)count, sizeof(*t), cmp_double);
	printf("p50_ns=%.0f p99_ns=%.0f mean_ns=%.0f request_bytes=%zu reply_bytes=%ld count=%ld\n",
	       t[count / 2], t[count * 99 / 100], sum / (double)count, len, reply, count);
	close(fd);
	free(t);
	free(msg);
	free(fr.buf);
	return 0;
}

/* One client of the throughput run: DEPTH calls in flight until the
 * deadline; writes how many replies it read to `out`. */
static int throughput_client(const char *path, const char *msg, size_t len, int depth, double deadline,
			     int out)
{
	struct framer fr = { 0 };
	long done = 0;
	int fd = connect_unix(path);

	if (fd < 0)
		return fail(path);
	for (int i = 0; i < depth; i++)
		if (write_all(fd, msg, len) < 0)
			return fail("write");
	while (now_ns() < deadline) {
		if (framer_read(&fr, fd, 1, NULL, 0) < 0)
			return fail("read");
		done++;
		if (write_all(fd, msg, len) < 0)
			return fail("write");
	}
	if (framer_read(&fr, fd, depth, NULL, 0) < 0)
		return fail("read");
	if (write(out, &done, sizeof(done)) != sizeof(done))
		return fail("pipe");
	return 0;
}

static int run_throughput(const char *path, const char *file, int clients, int depth, double seconds)
{
	size_t len;
	char *msg = read_message(file, &len);
	int p[2];
	double start, deadline, elapsed;
	long total = 0, one;
	int status, failed = 0;

	if (!msg)
		return fail(file);
	if (pipe(p) < 0)
		return fail("pipe");
	start = now_ns();
	deadline = start + seconds * 1e9;
	for (int c = 0; c < clients; c++) {
		pid_t pid = fork();

		if (pid < 0)
			return fail("fork");
		if (pid == 0)
			_exit(throughput_client(path, msg, len, depth, deadline, p[1]));
	}
	close(p[1]);
	while (wait(&status) > 0)
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	elapsed = (now_ns() - start) / 1e9;
	while (read(p[0], &one, sizeof(one)) == sizeof(one))
		total += one;
	if (failed)
		return 1;
	printf("calls_per_s=%.0f clients=%d depth=%d calls=%ld seconds=%.2f\n", (double)total / elapsed, clients,
	       depth, total, elapsed);
	return 0;
}

/* One call, timed; the reply's "vm" (for Create), or -1 on an error reply. */
static long call_timed(int fd, struct framer *fr, const char *msg, double *ret_ns)
{
	char first[256];
	double t0 = now_ns();
	const char *v;

	if (write_all(fd, msg, strlen(msg) + 1) < 0 || framer_read(fr, fd, 1, first, sizeof(first)) < 0) {
		fail("call");
		exit(1);
	}
	*ret_ns = now_ns() - t0;
	if (strstr(first, "\"error\"")) {
		fprintf(stderr, "varlink-rtt: error reply: %s\n", first);
		return -1;
	}
	v = strstr(first, "\"vm\":");
	return v ? atol(v + 5) : 0;
}

#define CREATE_FMT                                                                      \
	"{\"method\":\"io.hvcap.Vm.Create\",\"parameters\":{\"name\":\"scale-%ld\","      \
	"\"policy\":{\"name\":\"scale\",\"base\":\"host\",\"vcpus\":4}}}"

/* kB of a /proc/PID/status field, or -1. */
static long status_kb(long pid, const char *field)
{
	char file[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%ld/status", pid);
	f = fopen(file, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':')
			kb = atol(line + strlen(field) + 1);
	fclose(f);
	return kb;
}

static int run_scale(const char *path, long pid, long have, long total, long sample)
{
	struct framer fr = { 0 };
	char msg[512];
	double *tc = calloc((size_t)sample, sizeof(double)), *tg = calloc((size_t)sample, sizeof(double));
	long next = have;
	int fd = connect_unix(path);

	if (fd < 0)
		return fail(path);
	/* Fill, pipelined 32 deep (the daemon queues 256 calls). */
	while (have < total) {
		long batch = total - have < 32 ? total - have : 32;

		for (long i = 0; i < batch; i++) {
			int n = snprintf(msg, sizeof(msg), CREATE_FMT, have + i);

			if (write_all(fd, msg, (size_t)n + 1) < 0)
				return fail("write");
		}
		if (framer_read(&fr, fd, (int)batch, NULL, 0) < 0)
			return fail("read");
		have += batch;
	}
	printf("vms=%ld vcpus=%ld rss_kb=%ld rss_anon_kb=%ld rss_shmem_kb=%ld\n", total, total * 4,
	       status_kb(pid, "VmRSS"), status_kb(pid, "RssAnon"), status_kb(pid, "RssShmem"));
	next = have;
	for (long i = 0; i < sample; i++) {
		snprintf(msg, sizeof(msg), CREATE_FMT, next++);
		if (call_timed(fd, &fr, msg, &tc[i]) < 0)
			return 1;
	}
	/* Vm.Get of VMs across the whole id range: the first ids are 1.. */
	for (long i = 0; i < sample; i++) {
		long vm = 1 + (i * 7919) % total;

		snprintf(msg, sizeof(msg), "{\"method\":\"io.hvcap.Vm.Get\",\"parameters\":{\"vm\":%ld}}", vm);
		if (call_timed(fd, &fr, msg, &tg[i]) < 0)
			return 1;
	}
	qsort(tc, (size_t)sample, sizeof(double), cmp_double);
	qsort(tg, (size_t)sample, sizeof(double), cmp_double);
	printf("vms=%ld create_p50_ns=%.0f create_p99_ns=%.0f get_p50_ns=%.0f get_p99_ns=%.0f sample=%ld\n", total,
	       tc[sample / 2], tc[sample * 99 / 100], tg[sample / 2], tg[sample * 99 / 100], sample);
	close(fd);
	return 0;
}

static int run_ready(long count, char **argv)
{
	char dir[] = "/tmp/varlink-rtt-XXXXXX", path[64], buf[512];
	struct sockaddr_un sa;
	double *t = calloc((size_t)count, sizeof(double));
	int fd;

	if (!mkdtemp(dir))
		return fail("mkdtemp");
	snprintf(path, sizeof(path), "%s/notify", dir);
	if (unix_address(path, &sa) < 0)
		return fail(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail(path);
	setenv("NOTIFY_SOCKET", path, 1);
	for (long i = 0; i < count; i++) {
		double t0 = now_ns();
		pid_t pid = fork();
		int status;

		if (pid < 0)
			return fail("fork");
		if (pid == 0) {
			execvp(argv[0], argv);
			_exit(127);
		}
		for (;;) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t n;

			if (poll(&p, 1, 30000) <= 0) {
				fprintf(stderr, "varlink-rtt: no READY=1 in 30 s\n");
				kill(pid, SIGKILL);
				return 1;
			}
			n = recv(fd, buf, sizeof(buf) - 1, 0);
			if (n < 0)
				return fail("recv");
			buf[n] = '\0';
			if (strstr(buf, "READY=1"))
				break;
		}
		t[i] = now_ns() - t0;
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
	unlink(path);
	rmdir(dir);
	qsort(t, (size_t)count, sizeof(double), cmp_double);
	printf("ready_p50_ms=%.2f ready_min_ms=%.2f count=%ld\n", t[count / 2] / 1e6, t[0] / 1e6, count);
	return 0;
}

#define ECHO_MAX_CLIENTS 64

static int run_echo(const char *path, long reply_bytes)
{
	struct pollfd pfd[1 + ECHO_MAX_CLIENTS];
	struct framer fr[1 + ECHO_MAX_CLIENTS];
	struct sockaddr_un sa;
	char *reply;
	int n = 1, lfd;

	if (reply_bytes < 3)
		reply_bytes = 3;
	/* A JSON string of reply_bytes - 1 bytes, then the NUL. */
	reply = malloc((size_t)reply_bytes);
	memset(reply, 'x', (size_t)reply_bytes);
	reply[0] = '"';
	reply[reply_bytes - 2] = '"';
	reply[reply_bytes - 1] = '\0';
	signal(SIGPIPE, SIG_IGN);
	if (unix_address(path, &sa) < 0)
		return fail(path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0)
		return fail(path);
	memset(fr, 0, sizeof(fr));
	pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail("poll");
		}
		if ((pfd[0].revents & POLLIN) && n < 1 + ECHO_MAX_CLIENTS) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				pfd[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
				fr[n] = (struct framer){ 0 };
				n++;
			}
		}
		for (int i = 1; i < n; i++) {
			struct framer *f = &fr[i];
			ssize_t r;
			char *nul;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (f->cap - f->len < 65536) {
				f->cap = f->cap * 2 + 65536;
				f->buf = realloc(f->buf, f->cap);
			}
			r = read(pfd[i].fd, f->buf + f->len, f->cap - f->len);
			if (r <= 0) {
				close(pfd[i].fd);
				free(f->buf);
				pfd[i] = pfd[n - 1];
				fr[i] = fr[n - 1];
				n--;
				i--;
				continue;
			}
			f->len += (size_t)r;
			/* One reply per complete message, in order. */
			while ((nul = memchr(f->buf, '\0', f->len))) {
				size_t end = (size_t)(nul - f->buf) + 1;

				if (write_all(pfd[i].fd, reply, (size_t)reply_bytes) < 0)
					break;
				memmove(f->buf, f->buf + end, f->len - end);
				f->len -= end;
			}
		}
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "echo") == 0)
		return run_echo(argv[2], atol(argv[3]));
	if (argc == 5 && strcmp(argv[1], "latency") == 0 && atol(argv[4]) > 0)
		return run_latency(argv[2], argv[3], atol(argv[4]));
	if (argc == 7 && strcmp(argv[1], "throughput") == 0 && atoi(argv[4]) > 0 && atoi(argv[5]) > 0)
		return run_throughput(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atof(argv[6]));
	if (argc == 7 && strcmp(argv[1], "scale") == 0 && atol(argv[5]) > 0 && atol(argv[6]) > 0)
		return run_scale(argv[2], atol(argv[3]), atol(argv[4]), atol(argv[5]), atol(argv[6]));
	if (argc >= 5 && strcmp(argv[1], "ready") == 0 && atol(argv[2]) > 0 && strcmp(argv[3], "--") == 0)
		return run_ready(atol(argv[2]), argv + 4);
	fprintf(stderr, "usage: varlink-rtt echo PATH REPLY_BYTES\n"
			"       varlink-rtt latency PATH MESSAGE_FILE COUNT\n"
			"       varlink-rtt throughput PATH MESSAGE_FILE CLIENTS DEPTH SECONDS\n"
			"       varlink-rtt scale PATH PID HAVE TARGET SAMPLE\n"
			"       varlink-rtt ready COUNT -- COMMAND...\n");
	return 2;
}
