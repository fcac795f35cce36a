/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: hvcapd's request path, in process: the real server
 * (daemon/server.c, included here for its static connection functions)
 * on a libevent loop, a connection on one end of a socketpair, and the
 * input as the bytes a client sends on the other: framing, call parsing,
 * the method table (daemon/methods.c), authorization, each method's
 * field table and handler, replies, Watch streams.  The daemon serves
 * the synthetic AMD host of tests/unit/synthetic-hosts.h (model backend,
 * kernel 7.0, AVIC), with no state directory and no control file; the VM
 * registry is emptied after each input so that inputs stay independent.
 *
 * The first byte picks the peer: bit 0 set, root (privileged); clear,
 * an unprivileged uid.  The rest is what the client writes, then it
 * shuts its side down and reads until the daemon closes the connection.
 */

#include "server.c"

#include "hvcapd-internal.h"

#include "fuzz-hosts.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loop turns an input may take: every call's reply is out long before. */
#define FUZZ_MAX_TURNS 4096

static struct hvcapd_config cfg = {
	.host = HVCAPD_HOST_MODEL,
	.log_level = LOG_CRIT,
	.max_message = 64 * 1024,
	.max_connections = 4,
	.max_connections_per_uid = 4,
	.idle_timeout_sec = 3600,
	.partial_timeout_sec = 3600,
	.max_vms = 8,
	.max_vcpus_per_vm = 16,
	.control_gid = (gid_t)-1,
};
static struct hvcapd *hd;
static struct server *srv;
static int listen_fd = -1;
static char dir[64];
static char dump_path[96];

static void cleanup(void)
{
	unlink(dump_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(dir, sizeof(dir), "/tmp/hvcap-fuzz-daemon-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(dump_path, sizeof(dump_path), "%s/host.json", dir);
	atexit(cleanup);
	fuzz_write_synthetic_host(dump_path);

	hvcapd_log_set_level(LOG_CRIT);
	signal(SIGPIPE, SIG_IGN);
	cfg.host_dump = dump_path;
	cfg.params[cfg.n_params++] = "kernel=7.0";
	cfg.params[cfg.n_params++] = "avic=on";
	cfg.params[cfg.n_params++] = "nested=on";
	if (hvcapd_init(&cfg, &hd) < 0)
		abort();
	/* Never readable: connections come from the harness, not accept(). */
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || server_new(hd, &cfg, listen_fd, &srv) < 0)
		abort();
	return 0;
}

/* Read what the daemon answered; HVCAP_FUZZ_DEBUG shows it, to check a seed. */
static void drain(int fd)
{
	static int debug = -1;
	char buf[65536];
	ssize_t n;

	if (debug < 0)
		debug = getenv("HVCAP_FUZZ_DEBUG") != NULL;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (debug)
			for (ssize_t i = 0; i < n; i++)
				fputc(buf[i] ? buf[i] : '\n', stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ucred cred = { .pid = 1 };
	size_t off = 0;
	int sv[2];
	bool shut = false;

	if (size < 1)
		return 0;
	cred.uid = cred.gid = data[0] & 1 ? 0 : 65534;
	data++;
	size--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (conn_new(srv, sv[0], &cred) < 0) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	for (int turn = 0; turn < FUZZ_MAX_TURNS && !TAILQ_EMPTY(&srv->conns); turn++) {
		if (off < size) {
			ssize_t n = write(sv[1], data + off, size - off);

			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				off = size;
		}
		if (off == size && !shut) {
			shutdown(sv[1], SHUT_WR);
			shut = true;
		}
		if (event_base_loop(srv->base, EVLOOP_NONBLOCK) < 0)
			abort();
		drain(sv[1]);
	}
	/* A Watch stream stays open until the client goes: go. */
	close(sv[1]);
	for (int turn = 0; turn < 16 && !TAILQ_EMPTY(&srv->conns); turn++)
		event_base_loop(srv->base, EVLOOP_NONBLOCK);
	while (!TAILQ_EMPTY(&srv->conns))
		conn_free(TAILQ_FIRST(&srv->conns));
	hvcapd_registry_done(&hd->registry);
	if (hvcapd_registry_init(&hd->registry) < 0)
		abort();
	return 0;
}
