/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Varlink client (client.h): one blocking Unix stream connection,
 * calls written whole, replies framed by proto_framer and matched to calls
 * by order (Varlink has no call ids: PEERS.md §4).  Every wait goes
 * through poll() against one deadline per operation, every system call is
 * retried on EINTR, and writes use MSG_NOSIGNAL so that a peer that went
 * away is -EPIPE, not a SIGPIPE in the caller.
 */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <proto/client.h>

/* sd-varlink waits 45 s; hvcapd answers in milliseconds, so 30 s only catches a hung daemon. */
#define CLIENT_DEFAULT_TIMEOUT_MS	30000
/* Bytes read at a time (sd-varlink reads 64 KiB). */
#define CLIENT_READ_CHUNK		(64 * 1024)

struct proto_client {
	int fd;
	int timeout_ms;			/* 0: wait forever */
	int broken;			/* the error that ended the connection, or 0 */
	struct proto_framer framer;
	/* The calls awaiting replies, oldest first: whether each asked for more. */
	bool *pending;
	size_t n_pending;
	size_t pending_cap;
	size_t pending_head;
};

/* ---- addresses -------------------------------------------------------- */

#define UNIX_PREFIX "unix:"

/*
 * The socket path of an address ("unix:PATH" or a bare PATH): -EINVAL for
 * another transport or an empty path, -ENAMETOOLONG past sun_path.  A
 * leading '@' names an abstract socket, as in systemd and varlinkctl.
 */
static int address_path(const char *address, const char **ret)
{
	const char *path = address;
	size_t n;

	if (!address)
		return -EINVAL;
	if (strncmp(address, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
		path = address + strlen(UNIX_PREFIX);
	else if (address[0] != '/' && address[0] != '.' && address[0] != '@')
		return -EINVAL;	/* tcp:, exec:, ssh-unix: or no address at all */
	n = strlen(path);
	if (n == 0 || (path[0] == '@' && n == 1))
		return -EINVAL;
	if (n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	*ret = path;
	return 0;
}

/* "unix:" path into buf of size bytes. */
static int address_format(const char *path, char *buf, size_t size)
{
	size_t n = strlen(UNIX_PREFIX) + strlen(path);

	if (n >= size)
		return -ENOBUFS;
	snprintf(buf, size, UNIX_PREFIX "%s", path);
	return 0;
}

int proto_address_resolve(const char *address, char *buf, size_t size)
{
	const char *runtime, *path;
	char user[sizeof(((struct sockaddr_un *)0)->sun_path) + 32];
	int r;

	if (!buf)
		return -EINVAL;
	if (!address || !address[0]) {
		address = getenv(PROTO_ADDRESS_ENV);
		if (address && !address[0])
			address = NULL;
	}
	if (!address) {
		runtime = getenv("XDG_RUNTIME_DIR");
		/*
		 * root uses the system socket; so does a user with no runtime
		 * directory (cron, su): the system socket lets any member of
		 * the hvcap group call the read-only methods.
		 */
		if (geteuid() == 0 || !runtime || runtime[0] != '/') {
			address = PROTO_ADDRESS_SYSTEM;
		} else {
			if ((size_t)snprintf(user, sizeof(user), UNIX_PREFIX "%s/hvcap/io.hvcap", runtime) >=
			    sizeof(user))
				return -ENAMETOOLONG;
			address = user;
		}
	}
	r = address_path(address, &path);
	if (r < 0)
		return r;
	return address_format(path, buf, size);
}

/* ---- the connection --------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The deadline of an operation starting now, or -1 for none. */
static int64_t deadline_after(int timeout_ms)
{
	return timeout_ms > 0 ? now_ms() + timeout_ms : -1;
}

/* Wait for events on fd until deadline: 0, -ETIMEDOUT, or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int timeout = -1, r;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			timeout = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		r = poll(&p, 1, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;	/* the deadline check above decides */
		/* POLLHUP/POLLERR: the read or write that follows reports what happened. */
		return 0;
	}
}

int proto_client_connect(const char *address, struct proto_client **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct proto_client *c;
	const char *path;
	socklen_t salen;
	int fd, r;

	if (!ret)
		return -EINVAL;
	r = address_path(address, &path);
	if (r < 0)
		return r;
	memcpy(sa.sun_path, path, strlen(path));
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract: the name is the bytes after it, no NUL */
	else
		salen++;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->timeout_ms = CLIENT_DEFAULT_TIMEOUT_MS;
	r = proto_framer_init(&c->framer, PROTO_VARLINK_MAX_MESSAGE);
	if (r < 0)
		goto fail;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	c->fd = fd;
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		int so_error = 0;
		socklen_t len = sizeof(so_error);

		if (errno != EINTR && errno != EINPROGRESS) {
			r = -errno;
			goto fail;
		}
		/* Interrupted: the kernel goes on connecting; wait and ask how it ended. */
		r = wait_fd(fd, POLLOUT, deadline_after(c->timeout_ms));
		if (r < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0) {
			r = -errno;
			goto fail;
		}
		if (so_error) {
			r = -so_error;
			goto fail;
		}
	}
	*ret = c;
	return 0;

fail:
	proto_client_free(c);
	return r;
}

void proto_client_free(struct proto_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	proto_framer_done(&c->framer);
	free(c->pending);
	free(c);
}

void proto_client_set_timeout(struct proto_client *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

int proto_client_fd(const struct proto_client *c)
{
	return c->fd;
}

/* End the connection for good: later calls get err again. */
static int client_break(struct proto_client *c, int err)
{
	if (!c->broken)
		c->broken = err;
	return err;
}

static int pending_push(struct proto_client *c, bool more)
{
	if (c->n_pending == c->pending_cap) {
		size_t cap = c->pending_cap ? 2 * c->pending_cap : 8;
		bool *q = malloc(cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		/* Unroll the ring into the new array, oldest first. */
		for (size_t i = 0; i < c->n_pending; i++)
			q[i] = c->pending[(c->pending_head + i) % c->pending_cap];
		free(c->pending);
		c->pending = q;
		c->pending_cap = cap;
		c->pending_head = 0;
	}
	c->pending[(c->pending_head + c->n_pending) % c->pending_cap] = more;
	c->n_pending++;
	return 0;
}

static void pending_pop(struct proto_client *c)
{
	c->pending_head = (c->pending_head + 1) % c->pending_cap;
	c->n_pending--;
}

/* Write the whole message before deadline. */
static int write_all(struct proto_client *c, const char *data, size_t len, int64_t deadline)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(c->fd, data + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (n >= 0) {
			done += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = wait_fd(c->fd, POLLOUT, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}

int proto_client_send(struct proto_client *c, const char *method, struct json_object *parameters,
		      unsigned flags)
{
	struct proto_message m;
	int r;

	if (c->broken)
		return c->broken;
	r = proto_call_build(method, parameters, flags, &m);
	if (r < 0)
		return r;
	/* Record the call first: once it is written, its reply must be expected. */
	if (!(flags & PROTO_CALL_ONEWAY)) {
		r = pending_push(c, flags & PROTO_CALL_MORE);
		if (r < 0) {
			proto_message_done(&m);
			return r;
		}
	}
	r = write_all(c, m.data, m.len, deadline_after(c->timeout_ms));
	proto_message_done(&m);
	/* A call written in part leaves the stream mid-message: nothing more can follow. */
	if (r < 0)
		return client_break(c, r);
	return 0;
}

/* Read what the peer sent into the framer, waiting until deadline. */
static int read_some(struct proto_client *c, int64_t deadline)
{
	char buf[CLIENT_READ_CHUNK];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		int r;

		if (n > 0) {
			r = proto_framer_feed(&c->framer, buf, (size_t)n);
			/* A reply larger than any message may be is a malformed one. */
			return r == -E2BIG ? -EPROTO : r;
		}
		if (n == 0)
			return -ECONNRESET;	/* the peer closed, maybe mid-message */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = wait_fd(c->fd, POLLIN, deadline);
		if (r < 0)
			return r;
	}
}

int proto_client_recv(struct proto_client *c, struct proto_reply *ret)
{
	int64_t deadline = deadline_after(c->timeout_ms);
	struct proto_reply reply;
	const char *msg;
	size_t len;
	bool more;
	int r;

	if (c->broken)
		return c->broken;
	if (c->n_pending == 0)
		return -ENOMSG;	/* no call awaits a reply */
	more = c->pending[c->pending_head];
	for (;;) {
		r = proto_framer_next(&c->framer, &msg, &len);
		if (r > 0)
			break;
		if (r < 0)
			return client_break(c, -EPROTO);
		/*
		 * A timeout also ends the connection: the late reply would
		 * otherwise be taken for the next call's.
		 */
		r = read_some(c, deadline);
		if (r < 0)
			return client_break(c, r);
	}
	if (proto_reply_parse(msg, len, PROTO_VARLINK_MAX_DEPTH, &reply, NULL) < 0)
		return client_break(c, -EPROTO);
	if (reply.continues && !more) {
		proto_reply_done(&reply);
		return client_break(c, -EPROTO);	/* a stream the call did not ask for */
	}
	if (!reply.continues)
		pending_pop(c);
	*ret = reply;
	return 0;
}

int proto_client_call(struct proto_client *c, const char *method, struct json_object *parameters,
		      unsigned flags, struct proto_reply *ret)
{
	int r;

	if (c->broken)
		return c->broken;
	/* Replies come in call order: with calls in flight, the next reply is not this call's. */
	if (c->n_pending)
		return -EBUSY;
	r = proto_client_send(c, method, parameters, flags);
	if (r < 0 || (flags & PROTO_CALL_ONEWAY))
		return r;
	return proto_client_recv(c, ret);
}
