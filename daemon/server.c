/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The server: one libevent loop owns the listening socket, every client
 * connection, the signals and the watchdog.  Every byte a client sends is
 * hostile: messages are framed by proto_framer with the configured cap,
 * parsed by proto_call_parse, the caller's privilege is decided from the
 * method table before the parameters are looked at, and the parameters
 * are checked against the IDL before a handler sees them.
 *
 * Per connection, calls run strictly in order and one at a time (Varlink
 * allows pipelining, never multiplexing), so replies leave in call order.
 * What a client can make the daemon hold is bounded: the connections of
 * its uid and of everyone, the calls queued on its connection (reading
 * stops until they drain), the replies it has not read (calls wait above
 * HVCAPD_OUTPUT_PAUSE; above HVCAPD_MAX_OUTPUT, which only streams can
 * reach, the connection is dropped), and time: a connection with nothing
 * going on, or a message started and not finished, is closed.
 *
 * Behaviours chosen where the protocol leaves room:
 *  - Over a connection limit the daemon accepts, writes one
 *    io.hvcap.LimitExceeded error (limit "max_connections" or
 *    "max_connections_per_uid") without reading anything, and closes: a
 *    client reads it as the reply to its first call, and the daemon holds
 *    nothing for it.
 *  - A framing violation costs the connection: a message over
 *    max_message gets io.hvcap.LimitExceeded (limit "max_message") after
 *    the replies to the calls before it; a message that is not a JSON
 *    object (malformed or truncated JSON, a NUL inside it, invalid UTF-8,
 *    anything but an object) gets org.varlink.service.InvalidParameter
 *    with parameter "" — after it,
 *    where the next message starts cannot be trusted.  Either way the
 *    connection is closed once the replies are written.  A partial message
 *    at end of file is dropped without a reply.
 *  - A JSON object that is not a valid call (nesting past
 *    HVCAPD_MAX_DEPTH, a duplicate key, no method, a bad name, a wrong
 *    type, an unknown unprefixed key, both oneway and more) gets
 *    InvalidParameter naming the key (for nesting, the path where it got
 *    too deep), and the connection stays: the framing is intact.
 *  - A oneway call never gets a reply, not even an error.
 */

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <proto/idl.h>
#include <proto/json-writer.h>
#include <proto/varlink.h>

#include "server.h"

/* One read: sd-varlink's chunk size. */
#define SERVER_READ_CHUNK		(64 * 1024)
/* Calls one connection runs before the others get a turn. */
#define SERVER_CALLS_PER_TURN		32
/* Connections accepted before the loop looks at the others. */
#define SERVER_ACCEPTS_PER_TURN		64
/*
 * After connections close, give the allocator's free memory back to the
 * system this much later (once for a burst of closes): glibc returns
 * only the top of the heap by itself, and a thousand connections with
 * their replies queued leave tens of MiB free below it.
 */
#define SERVER_TRIM_DELAY_MSEC		1000
/* Out of file descriptors: stop accepting this long, or until a connection closes. */
#define SERVER_ACCEPT_PAUSE_MSEC	1000
/* At SIGTERM, replies already written get this long to reach their clients. */
#define SERVER_STOP_FLUSH_SEC		5
/* Client misbehaviour is logged at most once per interval and kind; floods are counted. */
#define SERVER_LOG_INTERVAL_MSEC	10000

struct ratelimit {
	uint64_t next_msec;
	unsigned suppressed;
};

struct uid_slot {
	uid_t uid;
	unsigned count;
};

struct conn;

struct request {
	struct conn *conn;
	const struct method *method;
	bool oneway;
	bool more;
	bool replied;		/* the final reply went out (or was suppressed for oneway) */
	bool kept_open;
	bool closed;		/* the client left: every request_*() is a no-op */
	void (*on_close)(struct request *req, void *data);
	void *on_close_data;
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct server *s;
	int fd;
	unsigned long long id;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int privileged;		/* -1: not asked yet */

	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_timer;
	struct event *ev_work;	/* run queued calls; also frees a dead connection */
	bool reading;
	bool writing;

	struct proto_framer framer;
	char *unfed;		/* read but not framed: the queue was full */
	size_t unfed_len;
	size_t unfed_off;
	unsigned n_queued;	/* complete calls waiting */
	size_t queued_bytes;
	bool partial;		/* the framer holds part of a message */
	uint64_t partial_since;
	uint64_t last_activity;

	struct evbuffer *out;
	struct request *current;	/* a kept-open call; the next waits for it */
	struct request *dispatching;	/* the call whose handler runs */

	bool eof;		/* the client sends no more */
	bool broken;		/* framing lost: nothing more is read or run */
	bool oversize;		/* owe a LimitExceeded for max_message */
	bool closing;		/* close once the output is written */
	bool dead;		/* close at the next turn, output or not */
};

TAILQ_HEAD(conn_list, conn);

struct server {
	struct event_base *base;
	struct hvcapd *d;
	const struct hvcapd_config *cfg;
	int listen_fd;
	uid_t self_uid;

	struct event *ev_accept;
	struct event *ev_accept_resume;
	bool accept_paused;

	struct event *ev_signals[3];
	struct event *ev_watchdog;
	struct event *ev_stop_deadline;
	struct event *ev_trim;
	bool stopping;

	struct conn_list conns;
	unsigned n_conns;
	unsigned long long next_id;
	struct uid_slot *uids;
	size_t n_uids;
	size_t cap_uids;

	struct ratelimit rl_reject;
	struct ratelimit rl_accept;
	struct ratelimit rl_client;

	char rbuf[SERVER_READ_CHUNK];
};

static void conn_work_cb(evutil_socket_t fd, short what, void *arg);

/* ------------------------------------------------------------------ */
/* Small helpers. */

static uint64_t now_msec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct timeval msec_to_tv(uint64_t msec)
{
	return (struct timeval){ .tv_sec = (time_t)(msec / 1000), .tv_usec = (suseconds_t)(msec % 1000) * 1000 };
}

/* Whether to log now; counts what it holds back for the next line. */
static bool ratelimit_pass(struct ratelimit *rl, unsigned *ret_suppressed)
{
	uint64_t now = now_msec();

	if (now < rl->next_msec) {
		rl->suppressed++;
		return false;
	}
	rl->next_msec = now + SERVER_LOG_INTERVAL_MSEC;
	*ret_suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

static struct uid_slot *server_uid_slot(struct server *s, uid_t uid)
{
	for (size_t i = 0; i < s->n_uids; i++)
		if (s->uids[i].uid == uid)
			return &s->uids[i];
	return NULL;
}

static int server_uid_ref(struct server *s, uid_t uid)
{
	struct uid_slot *slot = server_uid_slot(s, uid);

	if (slot) {
		slot->count++;
		return 0;
	}
	if (s->n_uids == s->cap_uids) {
		size_t cap = s->cap_uids ? s->cap_uids * 2 : 16;
		struct uid_slot *n = realloc(s->uids, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->uids = n;
		s->cap_uids = cap;
	}
	s->uids[s->n_uids++] = (struct uid_slot){ .uid = uid, .count = 1 };
	return 0;
}

static void server_uid_unref(struct server *s, uid_t uid)
{
	struct uid_slot *slot = server_uid_slot(s, uid);

	if (!slot)
		return;
	if (--slot->count == 0)
		*slot = s->uids[--s->n_uids];
}

/* ------------------------------------------------------------------ */
/* Accepting, and pausing when file descriptors run out. */

static void server_accept_resume(struct server *s)
{
	if (!s->accept_paused || s->stopping)
		return;
	s->accept_paused = false;
	evtimer_del(s->ev_accept_resume);
	event_add(s->ev_accept, NULL);
}

static void server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	server_accept_resume(s);
	if (!s->accept_paused)
		notify_status("Serving %u connections", s->n_conns);
}

static void server_accept_pause(struct server *s, int err)
{
	struct timeval tv = msec_to_tv(SERVER_ACCEPT_PAUSE_MSEC);
	unsigned suppressed;

	if (s->accept_paused)
		return;
	/*
	 * The pending connection keeps the listening socket readable: without
	 * the pause the loop would spin on EMFILE.  A closing connection frees
	 * a descriptor and resumes accepting early.
	 */
	event_del(s->ev_accept);
	evtimer_add(s->ev_accept_resume, &tv);
	s->accept_paused = true;
	if (ratelimit_pass(&s->rl_accept, &suppressed)) {
		hvcapd_log(LOG_WARNING, "accept: %s with %u connections open; not accepting for %u ms (%u similar since)",
			   strerror(err), s->n_conns, SERVER_ACCEPT_PAUSE_MSEC, suppressed);
		notify_status("Serving %u connections; accepting paused: %s", s->n_conns, strerror(err));
	}
}

/* Over a connection limit: one LimitExceeded reply, written without reading, then close. */
static void server_reject(struct server *s, int fd, uid_t uid, const char *limit, unsigned value)
{
	struct json_object *p = json_object_new_object();
	struct proto_message m = { 0 };
	unsigned suppressed;

	if (p && json_object_object_add(p, "limit", json_object_new_string(limit)) == 0 &&
	    json_object_object_add(p, "value", json_object_new_int64(value)) == 0 &&
	    proto_error_build("io.hvcap.LimitExceeded", p, &m) == 0) {
		/* A new socket's send buffer is empty: this fits, and never blocks. */
		(void)send(fd, m.data, m.len, MSG_DONTWAIT | MSG_NOSIGNAL);
		proto_message_done(&m);
	}
	json_object_put(p);
	close(fd);
	if (ratelimit_pass(&s->rl_reject, &suppressed))
		hvcapd_log(LOG_WARNING, "refusing a connection from uid %u: %s (%u) reached (%u similar since)",
			   (unsigned)uid, limit, value, suppressed);
}

static int conn_new(struct server *s, int fd, const struct ucred *cred);

static void server_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct server *s = arg;

	for (int i = 0; i < SERVER_ACCEPTS_PER_TURN && !s->accept_paused; i++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct uid_slot *slot;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int r;

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			server_accept_pause(s, errno);
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
			close(fd);
			continue;
		}
		if (s->n_conns >= s->cfg->max_connections) {
			server_reject(s, fd, cred.uid, "max_connections", s->cfg->max_connections);
			continue;
		}
		slot = server_uid_slot(s, cred.uid);
		if (slot && slot->count >= s->cfg->max_connections_per_uid) {
			server_reject(s, fd, cred.uid, "max_connections_per_uid",
				      s->cfg->max_connections_per_uid);
			continue;
		}
		r = conn_new(s, fd, &cred);
		if (r < 0) {
			close(fd);
			server_accept_pause(s, -r);
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Connections. */

static void conn_end_current(struct conn *c)
{
	struct request *req = c->current;

	if (!req)
		return;
	c->current = NULL;
	req->closed = true;
	if (req->on_close)
		req->on_close(req, req->on_close_data);
	free(req);
}

static void conn_free(struct conn *c)
{
	struct server *s = c->s;

	conn_end_current(c);
	TAILQ_REMOVE(&s->conns, c, entry);
	s->n_conns--;
	server_uid_unref(s, c->uid);
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_timer);
	event_free(c->ev_work);
	evbuffer_free(c->out);
	proto_framer_done(&c->framer);
	free(c->unfed);
	close(c->fd);
	hvcapd_log(LOG_DEBUG, "connection %llu (uid %u) closed", c->id, (unsigned)c->uid);
	free(c);

	server_accept_resume(s);
	if (s->ev_trim && !s->stopping && !evtimer_pending(s->ev_trim, NULL)) {
		struct timeval tv = msec_to_tv(SERVER_TRIM_DELAY_MSEC);

		evtimer_add(s->ev_trim, &tv);
	}
	if (s->stopping && TAILQ_EMPTY(&s->conns))
		event_base_loopbreak(s->base);
}

/* Close at the next turn of the loop: safe from anywhere, handlers included. */
static void conn_kill(struct conn *c)
{
	c->dead = true;
	event_active(c->ev_work, EV_TIMEOUT, 0);
}

/*
 * Run the connection's queued calls at the next turn of the loop.  A
 * timer due at once, not event_active(): libevent runs events activated
 * from a callback in the same pass, before it polls again, so a
 * connection rescheduled after its SERVER_CALLS_PER_TURN calls would run
 * on with every reply unwritten, and with many connections pipelining
 * the loop would not write, read or accept for as long as they all have
 * calls queued.  A timer waits for the poll that comes first.
 */
static void conn_schedule_work(struct conn *c)
{
	static const struct timeval now = { 0, 0 };

	if (evtimer_add(c->ev_work, &now) < 0)
		event_active(c->ev_work, EV_TIMEOUT, 0);
}

static bool conn_queue_has_room(const struct conn *c)
{
	return c->n_queued < HVCAPD_MAX_PENDING_CALLS && c->queued_bytes < c->s->cfg->max_message;
}

static void conn_log_misbehaviour(struct conn *c, const char *what)
{
	unsigned suppressed;

	if (ratelimit_pass(&c->s->rl_client, &suppressed))
		hvcapd_log(LOG_INFO, "connection %llu (uid %u, pid %d): %s; closing (%u similar since)",
			   c->id, (unsigned)c->uid, (int)c->pid, what, suppressed);
}

/* Frame bytes until the queue is full: -E2BIG for a message over the cap. */
static int conn_feed(struct conn *c, const char *data, size_t len, size_t *ret_used)
{
	size_t used = 0;
	int r = 0;

	while (used < len && conn_queue_has_room(c)) {
		const char *nul = memchr(data + used, '\0', len - used);
		size_t seg = nul ? (size_t)(nul - (data + used)) + 1 : len - used;
		size_t held = proto_framer_pending(&c->framer);

		r = proto_framer_feed(&c->framer, data + used, seg);
		if (r < 0)
			break;
		used += seg;
		if (nul) {
			c->n_queued++;
			c->queued_bytes += held + seg;
			c->partial = false;
		} else if (!c->partial) {
			c->partial = true;
			c->partial_since = now_msec();
		}
	}
	*ret_used = used;
	return r;
}

/* Record the outcome of feeding: the rest waits in c->unfed, or the framing is lost. */
static int conn_fed(struct conn *c, int r, const char *data, size_t len, size_t used)
{
	if (r == -E2BIG) {
		c->oversize = true;
		c->broken = true;
		conn_log_misbehaviour(c, "message over max_message");
		return 0;
	}
	if (r < 0)
		return r;
	if (used < len) {
		char *rest = malloc(len - used);

		if (!rest)
			return -ENOMEM;
		memcpy(rest, data + used, len - used);
		c->unfed = rest;
		c->unfed_len = len - used;
		c->unfed_off = 0;
	}
	return 0;
}

/* Frame what was held back while the queue was full. */
static int conn_refill(struct conn *c)
{
	size_t used;
	int r;

	if (!c->unfed || c->broken || !conn_queue_has_room(c))
		return 0;
	r = conn_feed(c, c->unfed + c->unfed_off, c->unfed_len - c->unfed_off, &used);
	c->unfed_off += used;
	if (c->unfed_off == c->unfed_len || r < 0) {
		free(c->unfed);
		c->unfed = NULL;
		c->unfed_len = c->unfed_off = 0;
	}
	if (r == -E2BIG) {
		c->oversize = true;
		c->broken = true;
		conn_log_misbehaviour(c, "message over max_message");
		return 0;
	}
	if (r == 0 && !c->unfed && c->partial)
		/* Reading resumes now: the client gets the full partial timeout from here. */
		c->partial_since = now_msec();
	return r;
}

/* Enable reading and writing as the connection's state says, and arm its timer. */
static void conn_update(struct conn *c)
{
	const struct hvcapd_config *cfg = c->s->cfg;
	bool want_read = !c->eof && !c->broken && !c->closing && !c->dead && !c->s->stopping &&
			 !c->unfed && conn_queue_has_room(c);
	bool want_write = evbuffer_get_length(c->out) > 0 && !c->dead;
	uint64_t now = now_msec(), deadline = UINT64_MAX;
	struct timeval tv;

	if (want_read != c->reading) {
		if (want_read) {
			event_add(c->ev_read, NULL);
			if (c->partial)
				c->partial_since = now;
		} else {
			event_del(c->ev_read);
		}
		c->reading = want_read;
	}
	if (want_write != c->writing) {
		if (want_write)
			event_add(c->ev_write, NULL);
		else
			event_del(c->ev_write);
		c->writing = want_write;
	}

	/*
	 * A message started and not finished has partial_timeout from its
	 * first byte (a byte now and then does not extend it).  Otherwise the
	 * connection has idle_timeout from the last call it sent or reply it
	 * read; a kept-open stream waiting for events is not idle, unless its
	 * replies are not being read.
	 */
	if (c->partial && c->reading)
		deadline = c->partial_since + (uint64_t)cfg->partial_timeout_sec * 1000;
	if (!c->current || want_write) {
		uint64_t idle = c->last_activity + (uint64_t)cfg->idle_timeout_sec * 1000;

		if (idle < deadline)
			deadline = idle;
	}
	if (deadline == UINT64_MAX) {
		evtimer_del(c->ev_timer);
		return;
	}
	tv = msec_to_tv(deadline > now ? deadline - now : 0);
	evtimer_add(c->ev_timer, &tv);
}

/* Queue a whole message for the client; over HVCAPD_MAX_OUTPUT the client is dropped. */
static int conn_send(struct conn *c, struct proto_message *m)
{
	if (c->dead)
		return -ECONNRESET;
	if (evbuffer_get_length(c->out) + m->len > HVCAPD_MAX_OUTPUT) {
		conn_log_misbehaviour(c, "unread replies over HVCAPD_MAX_OUTPUT");
		conn_kill(c);
		return -ENOBUFS;
	}
	/* The client's time to read starts with the first reply it has to read. */
	if (evbuffer_get_length(c->out) == 0)
		c->last_activity = now_msec();
	if (evbuffer_add(c->out, m->data, m->len) < 0) {
		conn_kill(c);
		return -ENOMEM;
	}
	/* A stream's replies come from outside the connection's callbacks: arm the events here. */
	if (!c->dispatching)
		conn_update(c);
	return 0;
}

/* An error reply from the server itself (no handler involved). */
static int conn_send_error(struct conn *c, bool oneway, const char *error, const char *key,
			   const char *value)
{
	struct json_object *p = NULL;
	struct proto_message m = { 0 };
	int r;

	if (oneway)
		return 0;
	if (key) {
		p = json_object_new_object();
		if (!p || json_object_object_add(p, key, json_object_new_string(value)) < 0) {
			json_object_put(p);
			conn_kill(c);
			return -ENOMEM;
		}
	}
	r = proto_error_build(error, p, &m);
	json_object_put(p);
	if (r < 0) {
		conn_kill(c);
		return r;
	}
	r = conn_send(c, &m);
	proto_message_done(&m);
	return r;
}

static bool conn_is_privileged(struct conn *c)
{
	/* The group database may be slow (NSS): ask once per connection. */
	if (c->privileged < 0)
		c->privileged = auth_peer_is_privileged(c->s->cfg, c->uid, c->gid);
	return c->privileged;
}

/* The framing cannot be trusted any more: drop everything not yet run, close after the replies. */
static void conn_break(struct conn *c)
{
	c->broken = true;
	c->closing = true;
	c->n_queued = 0;
	c->queued_bytes = 0;
	free(c->unfed);
	c->unfed = NULL;
	c->unfed_len = c->unfed_off = 0;
}

static const char *errno_limit_name(int r)
{
	return r == -ENOSPC ? "space" : "size";
}

static void conn_dispatch(struct conn *c, const char *msg, size_t len)
{
	struct proto_error err = { 0 };
	struct proto_call call;
	const struct proto_idl *idl;
	const struct method *m;
	struct request *req;
	bool oneway, more;
	int r;

	r = proto_call_parse(msg, len, HVCAPD_MAX_DEPTH, &call, &err);
	if (r == -ENOMEM) {
		conn_kill(c);
		return;
	}
	if (r < 0) {
		if (err.path[0] == '\0') {
			/* Not a JSON object at all: a framing violation. */
			conn_log_misbehaviour(c, "a message that is not a JSON object");
			conn_send_error(c, false, "org.varlink.service.InvalidParameter", "parameter", "");
			conn_break(c);
			return;
		}
		conn_send_error(c, false, "org.varlink.service.InvalidParameter", "parameter", err.path);
		return;
	}
	oneway = call.flags & PROTO_CALL_ONEWAY;
	more = call.flags & PROTO_CALL_MORE;

	if (call.flags & PROTO_CALL_UPGRADE) {
		/* No hvcap method hands the connection over to another protocol. */
		conn_send_error(c, false, "org.varlink.service.InvalidParameter", "parameter", "upgrade");
		goto out;
	}
	idl = proto_idl_builtin_find(call.interface);
	if (!idl) {
		conn_send_error(c, oneway, "org.varlink.service.InterfaceNotFound", "interface", call.interface);
		goto out;
	}
	if (!proto_idl_has_method(idl, call.member)) {
		conn_send_error(c, oneway, "org.varlink.service.MethodNotFound", "method", call.method);
		goto out;
	}
	m = hvcapd_method_find(call.method);
	if (!m || !m->handler) {
		conn_send_error(c, oneway, "org.varlink.service.MethodNotImplemented", "method", call.method);
		goto out;
	}
	if ((m->flags & METHOD_NEEDS_MORE) && !more) {
		conn_send_error(c, oneway, "org.varlink.service.ExpectedMore", NULL, NULL);
		goto out;
	}
	/* Privilege first: an unprivileged caller learns nothing from parameter errors. */
	if ((m->flags & METHOD_PRIVILEGED) && !conn_is_privileged(c)) {
		hvcapd_log(LOG_NOTICE, "permission denied: uid %u (pid %d) called %s", (unsigned)c->uid,
			   (int)c->pid, m->name);
		conn_send_error(c, oneway, "io.hvcap.PermissionDenied", "method", m->name);
		goto out;
	}
	r = proto_idl_check_input(idl, call.member, call.parameters, &err);
	if (r == -ENOMEM) {
		conn_kill(c);
		goto out;
	}
	if (r < 0) {
		conn_send_error(c, oneway, "org.varlink.service.InvalidParameter", "parameter", err.path);
		goto out;
	}

	req = calloc(1, sizeof(*req));
	if (!req) {
		conn_kill(c);
		goto out;
	}
	*req = (struct request){ .conn = c, .method = m, .oneway = oneway, .more = more };
	c->dispatching = req;
	r = m->handler(req, call.parameters);
	c->dispatching = NULL;

	if (r < 0 && !req->replied) {
		if (req->kept_open) {
			/* The handler registered req somewhere: on_close tells it to forget. */
			c->current = req;
			conn_end_current(c);
			req = NULL;
		}
		if (r == -E2BIG || r == -ENOSPC) {
			struct json_object *p = json_object_new_object();
			struct proto_message msgout = { 0 };

			if (!oneway && p &&
			    json_object_object_add(p, "limit", json_object_new_string(errno_limit_name(r))) == 0 &&
			    json_object_object_add(p, "value", json_object_new_int64(0)) == 0 &&
			    proto_error_build("io.hvcap.LimitExceeded", p, &msgout) == 0) {
				conn_send(c, &msgout);
				proto_message_done(&msgout);
			}
			json_object_put(p);
		} else {
			hvcapd_log(LOG_ERR, "%s (uid %u): %s; closing the connection", m->name, (unsigned)c->uid,
				   strerror(-r));
			conn_break(c);
		}
		free(req);
		goto out;
	}
	if (r < 0)
		hvcapd_log(LOG_ERR, "%s (uid %u): %s after its reply", m->name, (unsigned)c->uid, strerror(-r));
	if (req->replied) {
		free(req);
	} else if (req->kept_open) {
		c->current = req;
	} else {
		/* A handler bug: without a reply, the replies to later calls would be mismatched. */
		hvcapd_log(LOG_ERR, "%s returned without replying; closing the connection", m->name);
		conn_break(c);
		free(req);
	}
out:
	proto_call_done(&call);
}

/* What to do once nothing more can run: owe a reply, then close after the output. */
static void conn_check_end(struct conn *c)
{
	if (c->closing || c->current || c->n_queued || c->unfed)
		return;
	if (!c->eof && !c->broken)
		return;
	if (c->oversize) {
		struct json_object *p = json_object_new_object();
		struct proto_message m = { 0 };

		c->oversize = false;
		if (p && json_object_object_add(p, "limit", json_object_new_string("max_message")) == 0 &&
		    json_object_object_add(p, "value", json_object_new_int64((int64_t)c->s->cfg->max_message)) == 0 &&
		    proto_error_build("io.hvcap.LimitExceeded", p, &m) == 0) {
			conn_send(c, &m);
			proto_message_done(&m);
		}
		json_object_put(p);
	}
	c->closing = true;
}

/*
 * Write the replies the calls of this turn queued at once: the socket
 * nearly always has room, and arming EV_WRITE to learn that costs two
 * epoll_ctl() and a pass of the loop per call (bench/run-all.sh).  What
 * does not fit waits for conn_write_cb(), which conn_update() arms.
 */
static void conn_flush(struct conn *c)
{
	if (c->dead || evbuffer_get_length(c->out) == 0)
		return;
	if (evbuffer_write(c->out, c->fd) < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_kill(c);
		return;
	}
	c->last_activity = now_msec();
}

static void conn_work_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int budget = SERVER_CALLS_PER_TURN;
	bool paused;

	if (c->dead) {
		conn_free(c);
		return;
	}
	/* After an oversized message (broken), the calls before it still run. */
	while (budget > 0 && !c->current && !c->closing && !c->dead && !c->s->stopping &&
	       evbuffer_get_length(c->out) < HVCAPD_OUTPUT_PAUSE) {
		const char *msg;
		size_t len;
		int r = proto_framer_next(&c->framer, &msg, &len);

		if (r < 0) {
			conn_kill(c);
			break;
		}
		if (r == 0)
			break;
		budget--;
		c->n_queued = c->n_queued ? c->n_queued - 1 : 0;
		c->queued_bytes = c->queued_bytes > len + 1 ? c->queued_bytes - (len + 1) : 0;
		c->last_activity = now_msec();
		conn_dispatch(c, msg, len);
		if (conn_refill(c) < 0)
			conn_kill(c);
	}
	paused = evbuffer_get_length(c->out) >= HVCAPD_OUTPUT_PAUSE;
	conn_flush(c);
	if (c->dead) {
		conn_free(c);
		return;
	}
	/* As conn_write_cb() does: calls that waited for room go on once the flush made it. */
	if (c->n_queued && (budget == 0 || (paused && evbuffer_get_length(c->out) < HVCAPD_OUTPUT_PAUSE)))
		conn_schedule_work(c);
	conn_check_end(c);
	if (c->closing && evbuffer_get_length(c->out) == 0) {
		conn_free(c);
		return;
	}
	conn_update(c);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct server *s = c->s;
	size_t used = 0;
	ssize_t n;
	int r;

	n = read(c->fd, s->rbuf, sizeof(s->rbuf));
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_free(c);
		return;
	}
	if (n == 0) {
		/* Varlink clients cancel a "more" call by closing the connection. */
		if (c->current) {
			conn_free(c);
			return;
		}
		/* A partial message is dropped: there is no call to answer. */
		c->eof = true;
		c->partial = false;
		conn_schedule_work(c);
		conn_update(c);
		return;
	}
	r = conn_feed(c, s->rbuf, (size_t)n, &used);
	r = conn_fed(c, r, s->rbuf, (size_t)n, used);
	if (r < 0) {
		conn_free(c);
		return;
	}
	/*
	 * Run the calls now rather than on the work timer: the same budget
	 * per poll as the timer gives (so no starvation), one epoll_wait()
	 * and loop pass fewer per call.  conn_work_cb() updates or frees c.
	 */
	if (c->n_queued || c->broken) {
		conn_work_cb(c->fd, EV_TIMEOUT, c);
		return;
	}
	conn_update(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int n = evbuffer_write(c->out, c->fd);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_free(c);
		return;
	}
	c->last_activity = now_msec();
	if (evbuffer_get_length(c->out) == 0) {
		if (c->closing || c->s->stopping) {
			conn_free(c);
			return;
		}
	}
	/* Calls may have waited for the client to read. */
	if (evbuffer_get_length(c->out) < HVCAPD_OUTPUT_PAUSE && c->n_queued)
		conn_schedule_work(c);
	conn_update(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	const struct hvcapd_config *cfg = c->s->cfg;
	uint64_t now = now_msec();

	if (c->partial && c->reading && now >= c->partial_since + (uint64_t)cfg->partial_timeout_sec * 1000) {
		conn_log_misbehaviour(c, "message not finished within partial_timeout");
		conn_free(c);
		return;
	}
	if ((!c->current || evbuffer_get_length(c->out)) &&
	    now >= c->last_activity + (uint64_t)cfg->idle_timeout_sec * 1000) {
		hvcapd_log(LOG_DEBUG, "connection %llu (uid %u): idle for %u s; closing", c->id,
			   (unsigned)c->uid, cfg->idle_timeout_sec);
		conn_free(c);
		return;
	}
	conn_update(c);
}

static int conn_new(struct server *s, int fd, const struct ucred *cred)
{
	struct conn *c = calloc(1, sizeof(*c));
	int r = -ENOMEM;

	if (!c)
		return -ENOMEM;
	c->s = s;
	c->fd = fd;
	c->id = ++s->next_id;
	c->uid = cred->uid;
	c->gid = cred->gid;
	c->pid = cred->pid;
	c->privileged = -1;
	c->last_activity = now_msec();
	c->ev_read = event_new(s->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_write = event_new(s->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	c->ev_timer = evtimer_new(s->base, conn_timer_cb, c);
	c->ev_work = event_new(s->base, -1, 0, conn_work_cb, c);
	c->out = evbuffer_new();
	if (!c->ev_read || !c->ev_write || !c->ev_timer || !c->ev_work || !c->out)
		goto fail;
	r = proto_framer_init(&c->framer, s->cfg->max_message);
	if (r < 0)
		goto fail;
	r = server_uid_ref(s, c->uid);
	if (r < 0) {
		proto_framer_done(&c->framer);
		goto fail;
	}
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	s->n_conns++;
	hvcapd_log(LOG_DEBUG, "connection %llu from uid %u pid %d", c->id, (unsigned)c->uid, (int)c->pid);
	conn_update(c);
	return 0;

fail:
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->ev_timer)
		event_free(c->ev_timer);
	if (c->ev_work)
		event_free(c->ev_work);
	if (c->out)
		evbuffer_free(c->out);
	free(c);
	return r;
}

/* ------------------------------------------------------------------ */
/* The request API (daemon.h). */

struct hvcapd *request_daemon(const struct request *req)
{
	return req->conn->s->d;
}

uid_t request_uid(const struct request *req)
{
	return req->conn->uid;
}

bool request_wants_more(const struct request *req)
{
	return req->more;
}

void request_keep_open(struct request *req, void (*on_close)(struct request *req, void *data), void *data)
{
	req->kept_open = true;
	req->on_close = on_close;
	req->on_close_data = data;
}

/* After the final reply of a kept-open request: it is done, the next call may run. */
static void request_finish(struct request *req)
{
	struct conn *c = req->conn;

	req->replied = true;
	if (c->current == req) {
		c->current = NULL;
		free(req);
		conn_schedule_work(c);
	}
}

static int request_send(struct request *req, struct proto_message *m)
{
	int r = 0;

	if (!req->oneway)
		r = conn_send(req->conn, m);
	proto_message_done(m);
	return r;
}

static bool request_is_done(const struct request *req)
{
	return req->closed || req->replied;
}

/* Send a final reply that r says was built (or not: the connection goes). */
static int request_reply_built(struct request *req, int r, struct proto_message *m)
{
	if (r == 0)
		r = request_send(req, m);
	else
		conn_kill(req->conn);
	request_finish(req);
	return r;
}

int request_reply(struct request *req, struct json_object *parameters)
{
	struct proto_message m = { 0 };
	int r;

	if (request_is_done(req)) {
		json_object_put(parameters);
		return req->closed ? -ECONNRESET : -EALREADY;
	}
	r = proto_reply_build(parameters, false, &m);
	json_object_put(parameters);
	return request_reply_built(req, r, &m);
}

int request_reply_text(struct request *req, struct proto_json_writer *w)
{
	struct proto_message m = { 0 };
	int r;

	if (request_is_done(req)) {
		proto_jw_done(w);
		return req->closed ? -ECONNRESET : -EALREADY;
	}
	r = proto_reply_finish(w, false, &m);
	return request_reply_built(req, r, &m);
}

int request_stream(struct request *req, struct json_object *parameters)
{
	struct proto_message m = { 0 };
	int r;

	if (request_is_done(req)) {
		json_object_put(parameters);
		return req->closed ? -ECONNRESET : -EALREADY;
	}
	if (!req->more) {
		/* A caller bug: "continues" without "more" would break the client's reply order. */
		json_object_put(parameters);
		hvcapd_log(LOG_ERR, "%s streamed a reply to a call without \"more\"", req->method->name);
		return -EINVAL;
	}
	r = proto_reply_build(parameters, true, &m);
	json_object_put(parameters);
	if (r < 0) {
		conn_kill(req->conn);
		return r;
	}
	return request_send(req, &m);
}

/* Whether an error is declared by the interface its name is in. */
static bool error_is_declared(const char *error)
{
	const char *dot = strrchr(error, '.');
	char iface[PROTO_VARLINK_NAME_MAX + 1];
	const struct proto_idl *idl;

	if (!dot || (size_t)(dot - error) >= sizeof(iface))
		return false;
	memcpy(iface, error, (size_t)(dot - error));
	iface[dot - error] = '\0';
	idl = proto_idl_builtin_find(iface);
	return idl && proto_idl_has_error(idl, dot + 1);
}

int request_error(struct request *req, const char *error, struct json_object *parameters)
{
	struct proto_message m = { 0 };
	int r;

	if (request_is_done(req)) {
		json_object_put(parameters);
		return req->closed ? -ECONNRESET : -EALREADY;
	}
	if (!error_is_declared(error))
		hvcapd_log(LOG_ERR, "%s replied with %s, which no interface declares", req->method->name, error);
	r = proto_error_build(error, parameters, &m);
	json_object_put(parameters);
	if (r == 0)
		r = request_send(req, &m);
	else
		conn_kill(req->conn);
	request_finish(req);
	return r;
}

int request_invalid_parameter(struct request *req, const char *parameter)
{
	struct json_object *p = json_object_new_object();

	if (!p || json_object_object_add(p, "parameter", json_object_new_string(parameter)) < 0) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "org.varlink.service.InvalidParameter", p);
}

int request_limit_exceeded(struct request *req, const char *limit, int64_t value)
{
	struct json_object *p = json_object_new_object();

	if (!p || json_object_object_add(p, "limit", json_object_new_string(limit)) < 0 ||
	    json_object_object_add(p, "value", json_object_new_int64(value)) < 0) {
		json_object_put(p);
		return -ENOMEM;
	}
	return request_error(req, "io.hvcap.LimitExceeded", p);
}

/* ------------------------------------------------------------------ */
/* Signals, the watchdog, stopping. */

static void server_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	malloc_trim(0);
}

static void server_stop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	hvcapd_log(LOG_WARNING, "%u connections did not read their replies within %u s", s->n_conns,
		   SERVER_STOP_FLUSH_SEC);
	event_base_loopbreak(s->base);
}

static void server_stop(struct server *s)
{
	struct timeval tv = { .tv_sec = SERVER_STOP_FLUSH_SEC };
	struct conn *c, *next;

	if (s->stopping) {
		/* A second signal: do not wait for slow readers. */
		event_base_loopbreak(s->base);
		return;
	}
	s->stopping = true;
	notify_stopping();
	hvcapd_log(LOG_INFO, "stopping");
	event_del(s->ev_accept);
	evtimer_del(s->ev_accept_resume);
	evtimer_del(s->ev_trim);

	/* Replies already written still go out; nothing new is read or run. */
	for (c = TAILQ_FIRST(&s->conns); c; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_end_current(c);
		c->closing = true;
		if (c->dead || evbuffer_get_length(c->out) == 0)
			conn_free(c);
		else
			conn_update(c);
	}
	if (TAILQ_EMPTY(&s->conns))
		event_base_loopbreak(s->base);
	else
		evtimer_add(s->ev_stop_deadline, &tv);
}

static void server_reload(struct server *s)
{
	char summary[512] = "";
	int r;

	notify_reloading();
	r = hvcapd_reload(s->d, summary, sizeof(summary));
	if (r < 0) {
		hvcapd_log(LOG_WARNING, "reload failed, keeping the previous host: %s%s%s", strerror(-r),
			   summary[0] ? ": " : "", summary);
		notify_ready("Reload failed; serving the previous host");
		return;
	}
	hvcapd_log(LOG_NOTICE, "reloaded: %s", summary[0] ? summary : "done");
	notify_ready(summary[0] ? summary : "Reloaded");
}

static void server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	if (sig == SIGHUP) {
		if (!s->stopping)
			server_reload(s);
		return;
	}
	server_stop(s);
}

static void server_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_watchdog();
}

/* ------------------------------------------------------------------ */
/* Life. */

/* Every table entry must name a method of an embedded interface. */
static int server_check_methods(void)
{
	int r = 0;

	for (size_t i = 0; i < hvcapd_method_count; i++) {
		const struct method *m = hvcapd_methods[i];
		const char *dot = strrchr(m->name, '.');
		char iface[PROTO_VARLINK_NAME_MAX + 1];
		const struct proto_idl *idl = NULL;

		if (dot && (size_t)(dot - m->name) < sizeof(iface)) {
			memcpy(iface, m->name, (size_t)(dot - m->name));
			iface[dot - m->name] = '\0';
			idl = proto_idl_builtin_find(iface);
		}
		if (!idl || !proto_idl_has_method(idl, dot + 1)) {
			hvcapd_log(LOG_ERR, "method table: %s is in no embedded interface", m->name);
			r = -EINVAL;
		}
	}
	for (size_t i = 0; i < proto_idl_builtin_count(); i++) {
		const struct proto_idl *idl = proto_idl_builtin(i);

		if (!idl) {
			hvcapd_log(LOG_ERR, "embedded interface %zu does not parse", i);
			r = -EINVAL;
			continue;
		}
		for (size_t j = 0; j < proto_idl_method_count(idl); j++) {
			char name[PROTO_VARLINK_NAME_MAX + 1];
			const struct method *m;

			snprintf(name, sizeof(name), "%s.%s", proto_idl_name(idl), proto_idl_method_name(idl, j));
			m = hvcapd_method_find(name);
			if (!m || !m->handler)
				hvcapd_log(LOG_WARNING, "%s is not implemented", name);
		}
	}
	return r;
}

int server_new(struct hvcapd *d, const struct hvcapd_config *cfg, int listen_fd, struct server **ret)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGHUP };
	struct server *s;
	uint64_t wd;
	int r;

	r = server_check_methods();
	if (r < 0)
		return r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	TAILQ_INIT(&s->conns);
	s->d = d;
	s->cfg = cfg;
	s->listen_fd = listen_fd;
	s->self_uid = geteuid();

	r = -ENOMEM;
	s->base = event_base_new();
	if (!s->base)
		goto fail;
	s->ev_accept = event_new(s->base, listen_fd, EV_READ | EV_PERSIST, server_accept_cb, s);
	s->ev_accept_resume = evtimer_new(s->base, server_accept_resume_cb, s);
	s->ev_stop_deadline = evtimer_new(s->base, server_stop_deadline_cb, s);
	s->ev_trim = evtimer_new(s->base, server_trim_cb, s);
	if (!s->ev_accept || !s->ev_accept_resume || !s->ev_stop_deadline || !s->ev_trim)
		goto fail;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		s->ev_signals[i] = evsignal_new(s->base, signals[i], server_signal_cb, s);
		if (!s->ev_signals[i] || evsignal_add(s->ev_signals[i], NULL) < 0)
			goto fail;
	}
	wd = notify_watchdog_interval_usec();
	if (wd) {
		struct timeval tv = { .tv_sec = (time_t)(wd / 1000000), .tv_usec = (suseconds_t)(wd % 1000000) };

		s->ev_watchdog = event_new(s->base, -1, EV_PERSIST, server_watchdog_cb, s);
		if (!s->ev_watchdog || event_add(s->ev_watchdog, &tv) < 0)
			goto fail;
		notify_watchdog();
	}
	if (event_add(s->ev_accept, NULL) < 0)
		goto fail;
	*ret = s;
	return 0;

fail:
	hvcapd_log(LOG_ERR, "cannot set up the event loop: %s", strerror(-r));
	server_free(s);
	return r;
}

int server_run(struct server *s)
{
	if (event_base_dispatch(s->base) < 0) {
		hvcapd_log(LOG_ERR, "event loop failed");
		return -EIO;
	}
	return 0;
}

void server_free(struct server *s)
{
	struct conn *c;

	if (!s)
		return;
	while ((c = TAILQ_FIRST(&s->conns)))
		conn_free(c);
	if (s->ev_accept)
		event_free(s->ev_accept);
	if (s->ev_accept_resume)
		event_free(s->ev_accept_resume);
	if (s->ev_stop_deadline)
		event_free(s->ev_stop_deadline);
	if (s->ev_trim)
		event_free(s->ev_trim);
	if (s->ev_watchdog)
		event_free(s->ev_watchdog);
	for (size_t i = 0; i < sizeof(s->ev_signals) / sizeof(s->ev_signals[0]); i++)
		if (s->ev_signals[i])
			event_free(s->ev_signals[i]);
	if (s->base)
		event_base_free(s->base);
	free(s->uids);
	free(s);
}
