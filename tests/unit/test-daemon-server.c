/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The server core of hvcapd, driven through its socket: introspection,
 * framing and its violations, dispatch errors, oneway and pipelining,
 * authorization, connection limits, timeouts, running out of file
 * descriptors, many clients at once, and the socket's life (stale
 * sockets, a second instance, socket activation, SIGTERM, mode 0660).
 * Every test starts the real hvcapd with the model backend on the
 * synthetic dump.
 */

#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <json-c/json.h>

#include <proto/client.h>
#include <proto/idl.h>
#include <proto/varlink.h>

#include "daemon-harness.h"
#include "test-util.h"

#define NOBODY_UID 65534
#define NOBODY_GID 65534

/* ------------------------------------------------------------------ */
/* Starting and stopping the daemon. */

static const char *dump_path(void)
{
	return test_srcpath("tests/data/dumps/synthetic.json");
}

static void print_log(const struct test_daemon *td)
{
	char buf[8192];
	FILE *f = fopen(td->log, "r");
	size_t n;

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "--- %s ---\n%s--- end ---\n", td->log, buf);
}

/* A fresh directory for td, with an optional config file in it. */
static void daemon_dir(struct test_daemon *td, const char *config)
{
	memset(td, 0, sizeof(*td));
	td->notify_fd = -1;
	snprintf(td->dir, sizeof(td->dir), "/tmp/hvcapd-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(td->dir));
	if (config) {
		char path[400];
		FILE *f;

		snprintf(path, sizeof(path), "%s/hvcapd.conf", td->dir);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(config, f);
		fclose(f);
	}
}

/* Start in td->dir (made by daemon_dir()) with the model backend, config if written, and extra. */
static void daemon_start_in_dir(struct test_daemon *td, bool with_config, const char *const *extra)
{
	const char *argv[40];
	char config[400];
	size_t n = 0;
	int r;

	argv[n++] = "--host";
	argv[n++] = "model";
	argv[n++] = "--host-dump";
	argv[n++] = dump_path();
	if (with_config) {
		snprintf(config, sizeof(config), "%s/hvcapd.conf", td->dir);
		argv[n++] = "--config";
		argv[n++] = config;
	}
	for (size_t i = 0; extra && extra[i] && n < 38; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	r = test_daemon_start_argv(td, true, argv);
	if (r < 0)
		print_log(td);
	ck_assert_msg(r == 0, "hvcapd did not start: %s", strerror(-r));
}

static void daemon_start(struct test_daemon *td, const char *config, const char *const *extra)
{
	daemon_dir(td, config);
	daemon_start_in_dir(td, config != NULL, extra);
}

static void daemon_stop(struct test_daemon *td)
{
	int r = test_daemon_stop(td, SIGTERM);

	if (r != 0)
		print_log(td);
	ck_assert_msg(r == 0, "hvcapd exited with %d after SIGTERM", r);
	test_daemon_cleanup(td);
}

static bool daemon_alive(const struct test_daemon *td)
{
	return td->pid > 0 && waitpid(td->pid, NULL, WNOHANG) == 0;
}

static bool log_contains(const struct test_daemon *td, const char *want)
{
	static char buf[1 << 20];
	FILE *f = fopen(td->log, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, want) != NULL;
}

/*
 * Run hvcapd with argv (argv[0] is replaced) to its exit, stderr into
 * out; the exit status, or -1 if it had to be killed after 20 s.
 */
static int run_hvcapd(const char *const *args, const char *const *env, char *out, size_t size)
{
	const char *argv[40];
	int pipefd[2], status;
	size_t n = 0, got = 0;
	pid_t pid;

	argv[n++] = test_hvcapd_path();
	for (size_t i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		unsetenv("NOTIFY_SOCKET");
		for (size_t i = 0; env && env[i]; i += 2)
			setenv(env[i], env[i + 1], 1);
		test_exec_hvcapd(argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, 20000) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		k = read(pipefd[0], out + got, size - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
		if (got == size - 1)
			break;
	}
	out[got] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ------------------------------------------------------------------ */
/* A raw client: exactly the bytes a test wants on the wire. */

struct raw {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
};

static int raw_connect_path(const char *path, struct raw *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	*ret = (struct raw){ .fd = fd };
	return 0;
}

static void raw_open(const struct test_daemon *td, struct raw *ret)
{
	int r = raw_connect_path(td->socket, ret);

	ck_assert_msg(r == 0, "connect %s: %s", td->socket, strerror(-r));
}

static void raw_close(struct raw *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
	c->len = c->cap = 0;
}

static void raw_send(struct raw *c, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_msg(n > 0, "send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Send a string and its NUL. */
static void raw_send_msg(struct raw *c, const char *msg)
{
	raw_send(c, msg, strlen(msg) + 1);
}

/*
 * The next message (malloc()ed, NUL-terminated): 1, 0 at end of file,
 * -ETIMEDOUT, or -errno (a reset counts as end of file: 0).
 */
static int raw_recv(struct raw *c, int timeout_ms, char **ret)
{
	for (;;) {
		char *nul = c->len ? memchr(c->buf, '\0', c->len) : NULL;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (nul) {
			size_t mlen = (size_t)(nul - c->buf);

			*ret = malloc(mlen + 1);
			ck_assert_ptr_nonnull(*ret);
			memcpy(*ret, c->buf, mlen + 1);
			memmove(c->buf, nul + 1, c->len - mlen - 1);
			c->len -= mlen + 1;
			return 1;
		}
		if (poll(&p, 1, timeout_ms) == 0)
			return -ETIMEDOUT;
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 131072;
			c->buf = realloc(c->buf, c->cap);
			ck_assert_ptr_nonnull(c->buf);
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		c->len += (size_t)n;
	}
}

/* The next reply, parsed; fails the test on anything else. */
static void raw_reply(struct raw *c, struct proto_reply *ret)
{
	struct proto_error err = { 0 };
	char *msg = NULL;
	int r = raw_recv(c, 10000, &msg);

	ck_assert_msg(r == 1, "no reply: %s", r == 0 ? "end of file" : strerror(-r));
	r = proto_reply_parse(msg, strlen(msg), PROTO_VARLINK_MAX_DEPTH, ret, &err);
	ck_assert_msg(r == 0, "bad reply '%s': %s", msg, err.message);
	free(msg);
}

/* Whether the daemon closed the connection (end of file within timeout_ms). */
static bool raw_closed(struct raw *c, int timeout_ms)
{
	char *msg = NULL;
	int r = raw_recv(c, timeout_ms, &msg);

	free(msg);
	return r == 0;
}

static const char *reply_string(const struct proto_reply *r, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(r->parameters, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t reply_int(const struct proto_reply *r, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(r->parameters, key, &v) || !json_object_is_type(v, json_type_int))
		return INT64_MIN;
	return json_object_get_int64(v);
}

/* Expect an error reply with error and, if key, parameters.key == value. */
static void expect_error(struct raw *c, const char *error, const char *key, const char *value)
{
	struct proto_reply r;

	raw_reply(c, &r);
	ck_assert_msg(strcmp(r.error, error) == 0, "expected %s, got '%s' (%s)", error, r.error,
		      json_object_to_json_string(r.parameters));
	if (key) {
		const char *got = reply_string(&r, key);

		ck_assert_msg(got && strcmp(got, value) == 0, "expected %s=\"%s\", got %s", key, value,
			      json_object_to_json_string(r.parameters));
	}
	proto_reply_done(&r);
}

static void expect_get_info(struct raw *c)
{
	struct proto_reply r;

	raw_reply(c, &r);
	ck_assert_msg(r.error[0] == '\0', "GetInfo failed: %s", r.error);
	ck_assert_str_eq(reply_string(&r, "product"), "hvcapd");
	proto_reply_done(&r);
}

#define GET_INFO "{\"method\":\"org.varlink.service.GetInfo\"}"

/* ------------------------------------------------------------------ */
/* The client library against the daemon. */

static struct proto_client *client_open(const struct test_daemon *td)
{
	struct proto_client *c = NULL;
	int r = proto_client_connect(td->address, &c);

	ck_assert_msg(r == 0, "connect %s: %s", td->address, strerror(-r));
	proto_client_set_timeout(c, 20000);
	return c;
}

/* Call and return the reply (error replies too); fails on transport errors. */
static void client_call(struct proto_client *c, const char *method, const char *params_json,
			unsigned flags, struct proto_reply *ret)
{
	struct json_object *p = params_json ? json_tokener_parse(params_json) : NULL;
	int r;

	ck_assert(!params_json || p);
	r = proto_client_call(c, method, p, flags, ret);
	json_object_put(p);
	ck_assert_msg(r == 0, "%s: %s", method, strerror(-r));
}

/* ------------------------------------------------------------------ */
/* Introspection. */

START_TEST(test_service_get_info_lists_every_interface)
{
	struct test_daemon td;
	struct proto_client *c;
	struct proto_reply r;
	struct json_object *ifaces;
	struct proto_error err = { 0 };

	daemon_start(&td, NULL, NULL);
	c = client_open(&td);
	client_call(c, "org.varlink.service.GetInfo", NULL, 0, &r);
	ck_assert_str_eq(r.error, "");
	ck_assert_str_eq(reply_string(&r, "vendor"), "hvcap");
	ck_assert_str_eq(reply_string(&r, "product"), "hvcapd");
	ck_assert_str_eq(reply_string(&r, "version"), PACKAGE_VERSION);
	ck_assert_ptr_nonnull(reply_string(&r, "url"));
	ck_assert(json_object_object_get_ex(r.parameters, "interfaces", &ifaces));
	ck_assert_uint_eq(json_object_array_length(ifaces), proto_idl_builtin_count());
	for (size_t i = 0; i < proto_idl_builtin_count(); i++)
		ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(ifaces, i)),
				 proto_idl_name(proto_idl_builtin(i)));
	/* The reply is what the IDL promises. */
	ck_assert_int_eq(proto_idl_check_output(proto_idl_builtin_find("org.varlink.service"), "GetInfo",
						r.parameters, &err), 0);
	proto_reply_done(&r);
	proto_client_free(c);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_service_interface_description_parses_to_served_methods)
{
	struct test_daemon td;
	struct proto_client *c;

	daemon_start(&td, NULL, NULL);
	c = client_open(&td);
	for (size_t i = 0; i < proto_idl_builtin_count(); i++) {
		const struct proto_idl *want = proto_idl_builtin(i);
		struct proto_error err = { 0 };
		struct proto_idl *got = NULL;
		struct proto_reply r;
		char params[300];

		snprintf(params, sizeof(params), "{\"interface\":\"%s\"}", proto_idl_name(want));
		client_call(c, "org.varlink.service.GetInterfaceDescription", params, 0, &r);
		ck_assert_msg(r.error[0] == '\0', "%s: %s", proto_idl_name(want), r.error);
		ck_assert_msg(proto_idl_parse(reply_string(&r, "description"), &got, &err) == 0, "%s: %s",
			      proto_idl_name(want), err.message);
		ck_assert_str_eq(proto_idl_name(got), proto_idl_name(want));
		ck_assert_str_eq(reply_string(&r, "description"), proto_idl_text(want));
		ck_assert_uint_eq(proto_idl_method_count(got), proto_idl_method_count(want));
		for (size_t j = 0; j < proto_idl_method_count(want); j++)
			ck_assert_str_eq(proto_idl_method_name(got, j), proto_idl_method_name(want, j));
		proto_idl_free(got);
		proto_reply_done(&r);
	}
	proto_client_free(c);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_service_every_idl_method_is_served)
{
	struct test_daemon td;
	struct proto_client *c;

	daemon_start(&td, NULL, NULL);
	c = client_open(&td);
	for (size_t i = 0; i < proto_idl_builtin_count(); i++) {
		const struct proto_idl *idl = proto_idl_builtin(i);

		for (size_t j = 0; j < proto_idl_method_count(idl); j++) {
			char method[300];
			struct proto_reply r;

			/*
			 * Without parameters every method either answers or refuses
			 * them (InvalidParameter, ExpectedMore): none is missing.
			 */
			snprintf(method, sizeof(method), "%s.%s", proto_idl_name(idl), proto_idl_method_name(idl, j));
			client_call(c, method, NULL, 0, &r);
			ck_assert_msg(strcmp(r.error, "org.varlink.service.MethodNotImplemented") != 0 &&
				      strcmp(r.error, "org.varlink.service.MethodNotFound") != 0,
				      "%s: %s", method, r.error);
			proto_reply_done(&r);
		}
	}
	proto_client_free(c);
	daemon_stop(&td);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Dispatch errors. */

START_TEST(test_dispatch_unknown_interface_and_method_are_named)
{
	struct test_daemon td;
	struct raw c;

	daemon_start(&td, NULL, NULL);
	raw_open(&td, &c);
	raw_send_msg(&c, "{\"method\":\"org.example.nothing.Do\"}");
	expect_error(&c, "org.varlink.service.InterfaceNotFound", "interface", "org.example.nothing");
	raw_send_msg(&c, "{\"method\":\"io.hvcap.Host.Nothing\"}");
	expect_error(&c, "org.varlink.service.MethodNotFound", "method", "io.hvcap.Host.Nothing");
	raw_send_msg(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
			 "\"parameters\":{\"interface\":\"org.example.nothing\"}}");
	expect_error(&c, "org.varlink.service.InterfaceNotFound", "interface", "org.example.nothing");
	/* Parameters checked against the IDL, each error naming the parameter. */
	raw_send_msg(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\"}");
	expect_error(&c, "org.varlink.service.InvalidParameter", "parameter", "interface");
	raw_send_msg(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
			 "\"parameters\":{\"interface\":7}}");
	expect_error(&c, "org.varlink.service.InvalidParameter", "parameter", "interface");
	raw_send_msg(&c, "{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":{\"bogus\":1}}");
	expect_error(&c, "org.varlink.service.InvalidParameter", "parameter", "bogus");
	/* A valid object that is not a call: an error, and the connection stays. */
	raw_send_msg(&c, "{\"parameters\":{}}");
	expect_error(&c, "org.varlink.service.InvalidParameter", "parameter", "method");
	raw_send_msg(&c, "{\"method\":\"org.varlink.service.GetInfo\",\"bogus\":true}");
	expect_error(&c, "org.varlink.service.InvalidParameter", "parameter", "bogus");
	raw_send_msg(&c, "{\"method\":\"org.varlink.service.GetInfo\",\"oneway\":true,\"more\":true}");
	expect_error(&c, "org.varlink.service.InvalidParameter", NULL, NULL);
	raw_send_msg(&c, "{\"method\":\"org.varlink.service.GetInfo\",\"upgrade\":true}");
	expect_error(&c, "org.varlink.service.InvalidParameter", "parameter", "upgrade");
	/* Extension keys with a reverse-domain name are ignored. */
	raw_send_msg(&c, "{\"method\":\"org.varlink.service.GetInfo\",\"io.hvcap.trace-id\":\"x\"}");
	expect_get_info(&c);
	raw_close(&c);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_dispatch_needs_more_without_more_is_expected_more)
{
	struct test_daemon td;
	struct raw c;

	daemon_start(&td, NULL, NULL);
	raw_open(&td, &c);
	raw_send_msg(&c, "{\"method\":\"io.hvcap.Vm.Watch\"}");
	expect_error(&c, "org.varlink.service.ExpectedMore", NULL, NULL);
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	raw_close(&c);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_dispatch_oneway_gets_no_reply_and_order_holds)
{
	struct test_daemon td;
	struct proto_reply r;
	struct raw c;

	daemon_start(&td, NULL, NULL);
	raw_open(&td, &c);
	raw_send_msg(&c, "{\"method\":\"org.varlink.service.GetInfo\",\"oneway\":true}");
	/* Not even errors answer a oneway call. */
	raw_send_msg(&c, "{\"method\":\"org.example.nothing.Do\",\"oneway\":true}");
	raw_send_msg(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
			 "\"parameters\":{\"interface\":\"io.hvcap\"}}");
	raw_reply(&c, &r);
	ck_assert_str_eq(r.error, "");
	ck_assert_ptr_nonnull(strstr(reply_string(&r, "description"), "interface io.hvcap\n"));
	proto_reply_done(&r);
	raw_close(&c);
	daemon_stop(&td);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Streams ("more"). */

START_TEST(test_stream_watch_continues_outlives_idle_and_ends_with_the_client)
{
	const char *extra[] = { "--log-level", "debug", NULL };
	struct test_daemon td;
	struct proto_reply r;
	struct raw watch, c;

	daemon_start(&td, "idle_timeout = 1\n", extra);
	raw_open(&td, &watch);
	raw_send_msg(&watch, "{\"method\":\"io.hvcap.Vm.Watch\",\"more\":true}");
	raw_reply(&watch, &r);
	ck_assert_str_eq(r.error, "");
	ck_assert(r.continues);
	proto_reply_done(&r);
	/* Waiting for events is not idleness. */
	ck_assert(!raw_closed(&watch, 2500));
	raw_open(&td, &c);
	raw_send_msg(&c, "{\"method\":\"io.hvcap.Vm.Create\",\"parameters\":{\"name\":\"w1\",\"policy\":{}}}");
	raw_reply(&c, &r);
	ck_assert_msg(r.error[0] == '\0', "Create: %s", r.error);
	proto_reply_done(&r);
	raw_reply(&watch, &r);
	ck_assert_str_eq(r.error, "");
	ck_assert(r.continues);
	ck_assert_str_eq(reply_string(&r, "event"), "vm_created");
	proto_reply_done(&r);
	/* Closing the connection cancels the stream; the daemon lets go of it at once. */
	raw_close(&watch);
	usleep(300000);
	ck_assert(log_contains(&td, "connection 1 (uid 0) closed"));
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	raw_close(&c);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_stream_open_at_sigterm_stops_cleanly)
{
	struct test_daemon td;
	struct proto_reply r;
	struct raw watch;

	daemon_start(&td, NULL, NULL);
	raw_open(&td, &watch);
	raw_send_msg(&watch, "{\"method\":\"io.hvcap.Vm.Watch\",\"more\":true}");
	raw_reply(&watch, &r);
	ck_assert(r.continues);
	proto_reply_done(&r);
	ck_assert_int_eq(test_daemon_stop(&td, SIGTERM), 0);
	ck_assert(raw_closed(&watch, 5000));
	raw_close(&watch);
	test_daemon_cleanup(&td);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The service manager. */

START_TEST(test_notify_watchdog_reload_and_stopping)
{
	struct test_daemon td;

	/* WatchdogSec=400ms: pings every 200 ms. */
	setenv("WATCHDOG_USEC", "400000", 1);
	daemon_start(&td, NULL, NULL);
	unsetenv("WATCHDOG_USEC");
	ck_assert_int_eq(test_daemon_wait_notify(&td, "WATCHDOG=1", 2000), 0);
	ck_assert_int_eq(test_daemon_wait_notify(&td, "WATCHDOG=1", 2000), 0);
	/* SIGHUP: RELOADING=1, the reload, READY=1 again, and its summary in the log. */
	kill(td.pid, SIGHUP);
	ck_assert_int_eq(test_daemon_wait_notify(&td, "RELOADING=1", 5000), 0);
	ck_assert_int_eq(test_daemon_wait_notify(&td, "READY=1", 5000), 0);
	usleep(100000);
	ck_assert(log_contains(&td, "<5>reloaded: "));
	kill(td.pid, SIGTERM);
	ck_assert_int_eq(test_daemon_wait_notify(&td, "STOPPING=1", 5000), 0);
	ck_assert_int_eq(test_daemon_stop(&td, 0), 0);
	test_daemon_cleanup(&td);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Framing. */

#define SMALL_MAX 4096
#define SMALL_MAX_CONFIG "max_message = 4096\n"

/* A GetInfo call of exactly len bytes (blanks before the closing brace). */
static char *call_of_size(size_t len)
{
	const char *head = "{\"method\":\"org.varlink.service.GetInfo\"";
	char *s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_gt(len, strlen(head) + 1);
	memcpy(s, head, strlen(head));
	memset(s + strlen(head), ' ', len - strlen(head) - 1);
	s[len - 1] = '}';
	s[len] = '\0';
	return s;
}

START_TEST(test_framing_message_at_max_is_served)
{
	struct test_daemon td;
	struct raw c;
	char *msg = call_of_size(SMALL_MAX);

	daemon_start(&td, SMALL_MAX_CONFIG, NULL);
	raw_open(&td, &c);
	raw_send_msg(&c, msg);
	expect_get_info(&c);
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	free(msg);
	raw_close(&c);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_framing_message_over_max_closes_only_that_connection)
{
	struct test_daemon td;
	struct proto_reply r;
	struct raw bad, good;
	char *msg = call_of_size(SMALL_MAX + 1);

	daemon_start(&td, SMALL_MAX_CONFIG, NULL);
	raw_open(&td, &good);
	raw_open(&td, &bad);
	raw_send_msg(&good, GET_INFO);
	expect_get_info(&good);
	/* The call before the oversized one is answered; then LimitExceeded, then end of file. */
	raw_send_msg(&bad, GET_INFO);
	raw_send_msg(&bad, msg);
	expect_get_info(&bad);
	raw_reply(&bad, &r);
	ck_assert_str_eq(r.error, "io.hvcap.LimitExceeded");
	ck_assert_str_eq(reply_string(&r, "limit"), "max_message");
	ck_assert_int_eq(reply_int(&r, "value"), SMALL_MAX);
	proto_reply_done(&r);
	ck_assert(raw_closed(&bad, 5000));
	/* Without waiting for the NUL: the cap is enforced on the bytes as they come. */
	raw_close(&bad);
	raw_open(&td, &bad);
	raw_send(&bad, msg, SMALL_MAX + 1);
	raw_reply(&bad, &r);
	ck_assert_str_eq(r.error, "io.hvcap.LimitExceeded");
	proto_reply_done(&r);
	ck_assert(raw_closed(&bad, 5000));
	raw_send_msg(&good, GET_INFO);
	expect_get_info(&good);
	free(msg);
	raw_close(&bad);
	raw_close(&good);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_framing_frame_without_nul_then_eof_is_dropped)
{
	struct test_daemon td;
	struct raw c, other;
	const char *partial = GET_INFO;

	daemon_start(&td, NULL, NULL);
	raw_open(&td, &other);
	raw_open(&td, &c);
	raw_send_msg(&c, GET_INFO);
	raw_send(&c, partial, strlen(partial));
	ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
	/* The complete call is answered, the fragment is not, and the daemon hangs up. */
	expect_get_info(&c);
	ck_assert(raw_closed(&c, 5000));
	raw_send_msg(&other, GET_INFO);
	expect_get_info(&other);
	raw_close(&c);
	raw_close(&other);
	daemon_stop(&td);
}
END_TEST

/* Send bytes that are not a JSON object: InvalidParameter "", then end of file; others unaffected. */
static void check_framing_violation(const char *bytes, size_t len)
{
	char *all = malloc(len + sizeof(GET_INFO));
	struct test_daemon td;
	struct raw c, other;

	ck_assert_ptr_nonnull(all);
	daemon_start(&td, NULL, NULL);
	raw_open(&td, &other);
	raw_open(&td, &c);
	raw_send_msg(&c, GET_INFO);
	/*
	 * Whatever follows the violation is not run.  One send: the daemon
	 * may read the violation and hang up before a second send would go.
	 */
	memcpy(all, bytes, len);
	memcpy(all + len, GET_INFO, sizeof(GET_INFO));
	raw_send(&c, all, len + sizeof(GET_INFO));
	free(all);
	expect_get_info(&c);
	expect_error(&c, "org.varlink.service.InvalidParameter", "parameter", "");
	ck_assert(raw_closed(&c, 5000));
	raw_send_msg(&other, GET_INFO);
	expect_get_info(&other);
	ck_assert(daemon_alive(&td));
	raw_close(&c);
	raw_close(&other);
	daemon_stop(&td);
}

START_TEST(test_framing_nul_inside_json_closes)
{
	static const char msg[] = "{\"method\":\"org.varlink.service.Get\0Info\"}";

	check_framing_violation(msg, sizeof(msg));
}
END_TEST

START_TEST(test_framing_invalid_utf8_closes)
{
	static const char msg[] = "{\"method\":\"org.varlink.service.GetInfo\",\"io.hvcap.x\":\"\xc3\x28\"}";

	check_framing_violation(msg, sizeof(msg));
}
END_TEST

START_TEST(test_framing_malformed_json_closes)
{
	static const char msg[] = "{\"method\":\"org.varlink.service.GetInfo\",}";

	check_framing_violation(msg, sizeof(msg));
}
END_TEST

START_TEST(test_framing_not_an_object_closes)
{
	static const char msg[] = "[\"org.varlink.service.GetInfo\"]";

	check_framing_violation(msg, sizeof(msg));
}
END_TEST

/* Whatever bytes clients send, the daemon answers or hangs up, and goes on serving. */
START_TEST(test_framing_random_bytes_never_cost_the_daemon)
{
	struct test_daemon td;
	struct raw c;
	unsigned seed = 12345;

	daemon_start(&td, SMALL_MAX_CONFIG, NULL);
	for (int i = 0; i < 200; i++) {
		char buf[6000];
		size_t len = 1 + (size_t)(rand_r(&seed) % (int)sizeof(buf));
		char *msg = NULL;

		for (size_t k = 0; k < len; k++) {
			int x = rand_r(&seed) % 16;

			/* Mostly JSON-ish bytes, some NULs, some anything. */
			buf[k] = x == 0 ? '\0' : x < 8 ? "{}[]\":,0a\\ "[rand_r(&seed) % 12] : (char)rand_r(&seed);
		}
		raw_open(&td, &c);
		raw_send(&c, buf, len);
		shutdown(c.fd, SHUT_WR);
		while (raw_recv(&c, 5000, &msg) == 1) {
			free(msg);
			msg = NULL;
		}
		raw_close(&c);
	}
	ck_assert(daemon_alive(&td));
	raw_open(&td, &c);
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	raw_close(&c);
	daemon_stop(&td);
}
END_TEST

/*
 * HVCAPD_MAX_DEPTH (16) containers, the envelope included, is a call (its
 * parameters then fail the IDL check); 17 is InvalidParameter naming the
 * path where the limit was passed.  Either way the connection stays.
 */
static void deep_call(char *msg, size_t size, int depth)
{
	size_t n = (size_t)snprintf(msg, size, "{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":{\"a\":");

	/* The envelope and the parameters object are two; arrays make the rest. */
	for (int i = 0; i < depth - 2; i++)
		msg[n++] = '[';
	for (int i = 0; i < depth - 2; i++)
		msg[n++] = ']';
	msg[n++] = '}';
	msg[n++] = '}';
	msg[n] = '\0';
}

START_TEST(test_framing_depth_at_limit_and_past_it)
{
	struct test_daemon td;
	struct raw c;
	char msg[512];

	daemon_start(&td, NULL, NULL);
	raw_open(&td, &c);
	deep_call(msg, sizeof(msg), 16);
	raw_send_msg(&c, msg);
	expect_error(&c, "org.varlink.service.InvalidParameter", "parameter", "a");
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	/*
	 * One more: InvalidParameter naming where it got too deep.  The
	 * message was framed by its NUL, so the connection goes on; so it
	 * does far past the limit, where json-c itself gives up.
	 */
	deep_call(msg, sizeof(msg), 17);
	raw_send_msg(&c, msg);
	expect_error(&c, "org.varlink.service.InvalidParameter", "parameter",
		     "parameters.a[0][0][0][0][0][0][0][0][0][0][0][0][0]");
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	deep_call(msg, sizeof(msg), 60);
	raw_send_msg(&c, msg);
	expect_error(&c, "org.varlink.service.InvalidParameter", "parameter",
		     "parameters.a[0][0][0][0][0][0][0][0][0][0][0][0][0]");
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	raw_close(&c);
	daemon_stop(&td);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Pipelining. */

/* A GetInterfaceDescription call for the i-th embedded interface. */
static size_t describe_call(char *buf, size_t size, size_t i)
{
	int n = snprintf(buf, size,
			 "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{\"interface\":\"%s\"}}",
			 proto_idl_name(proto_idl_builtin(i % proto_idl_builtin_count())));

	return (size_t)n + 1;
}

/* Whether a reply message answers the i-th describe_call(). */
static bool describe_reply_is(const char *msg, size_t i)
{
	struct proto_error err = { 0 };
	struct proto_reply r;
	const char *d;
	char want[300];
	bool ok;

	if (proto_reply_parse(msg, strlen(msg), PROTO_VARLINK_MAX_DEPTH, &r, &err) < 0)
		return false;
	snprintf(want, sizeof(want), "interface %s\n", proto_idl_name(proto_idl_builtin(i % proto_idl_builtin_count())));
	d = reply_string(&r, "description");
	ok = r.error[0] == '\0' && d && strstr(d, want);
	proto_reply_done(&r);
	return ok;
}

static void check_pipeline(size_t calls)
{
	struct test_daemon td;
	struct raw c;
	char *all = malloc(calls * 200);
	size_t len = 0;

	ck_assert_ptr_nonnull(all);
	daemon_start(&td, NULL, NULL);
	raw_open(&td, &c);
	for (size_t i = 0; i < calls; i++)
		len += describe_call(all + len, 200, i);
	raw_send(&c, all, len);
	for (size_t i = 0; i < calls; i++) {
		char *msg = NULL;

		ck_assert_int_eq(raw_recv(&c, 10000, &msg), 1);
		ck_assert_msg(describe_reply_is(msg, i), "reply %zu is not the answer to call %zu", i, i);
		free(msg);
	}
	free(all);
	raw_close(&c);
	daemon_stop(&td);
}

START_TEST(test_pipeline_100_calls_answered_in_order)
{
	check_pipeline(100);
}
END_TEST

/* Past HVCAPD_MAX_PENDING_CALLS (256) the daemon stops reading, and resumes. */
START_TEST(test_pipeline_past_the_queue_limit_answered_in_order)
{
	check_pipeline(2000);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Authorization. */

/*
 * In a child dropped to uid/gid (with the supplementary group extra
 * unless (gid_t)-1), call method and return "ERROR|PARAMETERS" ("" for
 * no error) in ret.
 */
static void call_as_groups(const struct test_daemon *td, uid_t uid, gid_t gid, gid_t extra, const char *method,
			   char *ret, size_t size)
{
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;

	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct proto_client *c = NULL;
		struct proto_reply r;
		char out[512];

		close(pipefd[0]);
		if (setgroups(extra == (gid_t)-1 ? 0 : 1, &extra) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(3);
		if (proto_client_connect(td->address, &c) < 0) {
			snprintf(out, sizeof(out), "connect failed: %s", strerror(errno));
		} else if (proto_client_call(c, method, NULL, 0, &r) < 0) {
			snprintf(out, sizeof(out), "call failed");
		} else {
			snprintf(out, sizeof(out), "%s|%s", r.error,
				 json_object_to_json_string_ext(r.parameters, JSON_C_TO_STRING_PLAIN));
			proto_reply_done(&r);
		}
		if (write(pipefd[1], out, strlen(out)) < 0)
			_exit(4);
		_exit(0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], ret, size - 1);
	ret[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client as uid %u failed", (unsigned)uid);
}

/* The same without supplementary groups. */
static void call_as(const struct test_daemon *td, uid_t uid, gid_t gid, const char *method, char *ret, size_t size)
{
	call_as_groups(td, uid, gid, (gid_t)-1, method, ret, size);
}

/* Let uid nobody reach the socket: the directory is traversable, the socket's group is nogroup. */
static void open_socket_to_nobody(const struct test_daemon *td)
{
	ck_assert_int_eq(chmod(td->dir, 0711), 0);
	ck_assert_int_eq(chown(td->socket, (uid_t)-1, NOBODY_GID), 0);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

START_TEST(test_auth_unprivileged_peer_is_denied_privileged_methods)
{
	struct test_daemon td;
	char out[4096];

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: dropping to nobody needs root\n");
		return;
	}
	daemon_start(&td, NULL, NULL);
	open_socket_to_nobody(&td);
	/* Read-only methods for anyone who can connect. */
	call_as(&td, NOBODY_UID, NOBODY_GID, "org.varlink.service.GetInfo", out, sizeof(out));
	ck_assert_msg(starts_with(out, "|"), "GetInfo as nobody: %s", out);
	call_as(&td, NOBODY_UID, NOBODY_GID, "io.hvcap.Host.Describe", out, sizeof(out));
	ck_assert_msg(starts_with(out, "|"), "Describe as nobody: %s", out);
	/* Privileged ones: refused before the parameters are looked at, naming the method. */
	call_as(&td, NOBODY_UID, NOBODY_GID, "io.hvcap.Host.Reload", out, sizeof(out));
	ck_assert_msg(starts_with(out, "io.hvcap.PermissionDenied|"), "Reload as nobody: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "\"method\":\"io.hvcap.Host.Reload\""));
	call_as(&td, NOBODY_UID, NOBODY_GID, "io.hvcap.Vm.Create", out, sizeof(out));
	ck_assert_msg(starts_with(out, "io.hvcap.PermissionDenied|"), "Create as nobody: %s", out);
	/* Root may. */
	call_as(&td, 0, 0, "io.hvcap.Host.Reload", out, sizeof(out));
	ck_assert_msg(!starts_with(out, "io.hvcap.PermissionDenied"), "Reload as root: %s", out);
	/* One notice per refusal, naming uid and method. */
	ck_assert(log_contains(&td, "<5>permission denied: uid 65534"));
	ck_assert(log_contains(&td, "io.hvcap.Host.Reload"));
	daemon_stop(&td);
}
END_TEST

START_TEST(test_auth_admin_group_member_may_call_privileged_methods)
{
	struct test_daemon td;
	char group[64], cmd[256], out[4096];
	const char *extra[3];
	struct group *gr;
	struct stat st;
	int r;

	if (geteuid() != 0 || access("/usr/sbin/groupadd", X_OK) != 0) {
		fprintf(stderr, "skipped: creating a group needs root and groupadd\n");
		return;
	}
	snprintf(group, sizeof(group), "hvcaptest%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "groupadd -U nobody %s", group);
	ck_assert_int_eq(system(cmd), 0);
	gr = getgrnam(group);
	ck_assert_ptr_nonnull(gr);
	extra[0] = "--admin-group";
	extra[1] = group;
	extra[2] = NULL;
	daemon_start(&td, NULL, extra);
	/* The daemon gave the socket to the admin group: members can connect through its 0660. */
	ck_assert_int_eq(stat(td.socket, &st), 0);
	ck_assert_uint_eq(st.st_gid, gr->gr_gid);
	ck_assert_int_eq(chmod(td.dir, 0711), 0);
	/* As after a login: the admin group among the process's groups opens the socket. */
	call_as_groups(&td, NOBODY_UID, NOBODY_GID, gr->gr_gid, "io.hvcap.Host.Reload", out, sizeof(out));
	r = starts_with(out, "io.hvcap.PermissionDenied") || starts_with(out, "connect failed");
	ck_assert_msg(!r, "Reload as an admin group member: %s", out);
	/*
	 * The daemon asks the group database, not the peer's process: with
	 * the socket open to all, a member without the group in its process
	 * is still an admin, and another user is not.
	 */
	ck_assert_int_eq(chmod(td.socket, 0666), 0);
	call_as(&td, NOBODY_UID, NOBODY_GID, "io.hvcap.Host.Reload", out, sizeof(out));
	r = starts_with(out, "io.hvcap.PermissionDenied") || starts_with(out, "connect failed");
	ck_assert_msg(!r, "Reload as an admin group member (group database only): %s", out);
	call_as(&td, 1, 1, "io.hvcap.Host.Reload", out, sizeof(out));
	ck_assert_msg(starts_with(out, "io.hvcap.PermissionDenied|"), "Reload as uid 1: %s", out);
	snprintf(cmd, sizeof(cmd), "groupdel %s", group);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove group %s\n", group);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_auth_unknown_admin_group_stops_the_start)
{
	char out[4096];
	const char *args[] = { "--listen", "/tmp/hvcapd-test-never/io.hvcap", "--host", "model", "--host-dump",
			       dump_path(), "--admin-group", "no-such-group-hvcap", NULL };

	ck_assert_int_eq(run_hvcapd(args, NULL, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "no-such-group-hvcap"));
	ck_assert_int_ne(access("/tmp/hvcapd-test-never/io.hvcap", F_OK), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Connection limits. */

static void expect_refused(const struct test_daemon *td, const char *limit, int64_t value)
{
	struct proto_reply r;
	struct raw c;

	raw_open(td, &c);
	raw_reply(&c, &r);
	ck_assert_str_eq(r.error, "io.hvcap.LimitExceeded");
	ck_assert_str_eq(reply_string(&r, "limit"), limit);
	ck_assert_int_eq(reply_int(&r, "value"), value);
	proto_reply_done(&r);
	ck_assert(raw_closed(&c, 5000));
	raw_close(&c);
}

START_TEST(test_limits_connections_total_at_limit_and_one_past)
{
	struct test_daemon td;
	struct raw c[3];

	daemon_start(&td, "max_connections = 3\n", NULL);
	for (int i = 0; i < 3; i++) {
		raw_open(&td, &c[i]);
		raw_send_msg(&c[i], GET_INFO);
		expect_get_info(&c[i]);
	}
	expect_refused(&td, "max_connections", 3);
	/* Those inside keep being served, and a freed slot is taken again. */
	raw_send_msg(&c[0], GET_INFO);
	expect_get_info(&c[0]);
	raw_close(&c[2]);
	usleep(200000);
	raw_open(&td, &c[2]);
	raw_send_msg(&c[2], GET_INFO);
	expect_get_info(&c[2]);
	for (int i = 0; i < 3; i++)
		raw_close(&c[i]);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_limits_connections_per_uid_at_limit_and_one_past)
{
	struct test_daemon td;
	char out[4096];
	struct raw c[2];

	daemon_start(&td, "max_connections_per_uid = 2\n", NULL);
	for (int i = 0; i < 2; i++) {
		raw_open(&td, &c[i]);
		raw_send_msg(&c[i], GET_INFO);
		expect_get_info(&c[i]);
	}
	expect_refused(&td, "max_connections_per_uid", 2);
	if (geteuid() == 0) {
		/* Another uid has its own allowance. */
		open_socket_to_nobody(&td);
		call_as(&td, NOBODY_UID, NOBODY_GID, "org.varlink.service.GetInfo", out, sizeof(out));
		ck_assert_msg(starts_with(out, "|"), "GetInfo as nobody: %s", out);
	}
	raw_close(&c[1]);
	usleep(200000);
	raw_open(&td, &c[1]);
	raw_send_msg(&c[1], GET_INFO);
	expect_get_info(&c[1]);
	raw_close(&c[0]);
	raw_close(&c[1]);
	daemon_stop(&td);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Timeouts. */

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_timeouts_silent_and_half_sent_clients_are_closed)
{
	struct test_daemon td;
	struct raw silent, half, busy;
	double start, t_half = 0, t_silent = 0;

	daemon_start(&td, "idle_timeout = 2\npartial_timeout = 1\n", NULL);
	raw_open(&td, &silent);
	raw_open(&td, &half);
	raw_open(&td, &busy);
	start = now_sec();
	raw_send(&half, "{\"method\":", 10);
	/* A busy client calls every 300 ms for 4 s and is never cut off. */
	while (now_sec() - start < 4.0) {
		char *msg = NULL;

		raw_send_msg(&busy, GET_INFO);
		expect_get_info(&busy);
		/* A byte now and then does not extend a half-sent message's time. */
		if (!t_half && now_sec() - start < 1.5)
			send(half.fd, " ", 1, MSG_NOSIGNAL);
		if (!t_half && raw_recv(&half, 0, &msg) == 0)
			t_half = now_sec() - start;
		if (!t_silent && raw_recv(&silent, 0, &msg) == 0)
			t_silent = now_sec() - start;
		free(msg);
		usleep(300000);
	}
	ck_assert_msg(t_half > 0.8 && t_half < 2.0, "half-sent client closed after %.2f s", t_half);
	ck_assert_msg(t_silent > 1.8 && t_silent < 3.5, "silent client closed after %.2f s", t_silent);
	raw_close(&silent);
	raw_close(&half);
	raw_close(&busy);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_timeouts_client_not_reading_is_closed)
{
	struct test_daemon td;
	struct raw lazy, other;
	char call[200];
	size_t len = describe_call(call, sizeof(call), 3);
	double start;
	bool closed = false;

	daemon_start(&td, "idle_timeout = 2\n", NULL);
	raw_open(&td, &lazy);
	/* Ask for far more than the socket buffers hold, and never read. */
	ck_assert_int_eq(fcntl(lazy.fd, F_SETFL, O_NONBLOCK), 0);
	start = now_sec();
	while (now_sec() - start < 6.0) {
		ssize_t n = send(lazy.fd, call, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			closed = true;
			break;
		}
		if (n < 0)
			usleep(50000);
	}
	ck_assert_msg(closed, "a client that never reads was not disconnected");
	raw_open(&td, &other);
	raw_send_msg(&other, GET_INFO);
	expect_get_info(&other);
	raw_close(&lazy);
	raw_close(&other);
	daemon_stop(&td);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Out of file descriptors. */

START_TEST(test_accept_pauses_when_out_of_fds_and_recovers)
{
	struct test_daemon td;
	struct rlimit old, low;
	enum { N = 48 };
	struct raw c[N];
	int served = 0, i;

	if (getenv("HVCAP_TEST_WRAPPER") && *getenv("HVCAP_TEST_WRAPPER")) {
		/* valgrind keeps descriptors of its own under the daemon's limit of 32. */
		fprintf(stderr, "skipped: hvcapd runs under $HVCAP_TEST_WRAPPER\n");
		return;
	}
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 32;
	/* The daemon inherits the low limit; this process takes its own back after the start. */
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	daemon_dir(&td, NULL);
	daemon_start_in_dir(&td, false, NULL);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);

	for (i = 0; i < N; i++) {
		raw_open(&td, &c[i]);
		raw_send_msg(&c[i], GET_INFO);
	}
	for (i = 0; i < N; i++) {
		char *msg = NULL;

		if (raw_recv(&c[i], i < 8 ? 5000 : 300, &msg) == 1)
			served++;
		free(msg);
	}
	ck_assert_msg(served > 0 && served < N, "%d of %d connections served", served, N);
	ck_assert(daemon_alive(&td));
	ck_assert(log_contains(&td, "not accepting"));
	/* Those inside are still served. */
	raw_send_msg(&c[0], GET_INFO);
	expect_get_info(&c[0]);
	/* Closing some lets the waiting ones in. */
	for (i = 0; i < served; i++)
		raw_close(&c[i]);
	for (i = served; i < N && i < 2 * served - 1; i++)
		expect_get_info(&c[i]);
	for (i = 0; i < N; i++)
		raw_close(&c[i]);
	daemon_stop(&td);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Many clients at once. */

#define CONC_CLIENTS 300
#define CONC_CALLS 20

struct conc_client {
	struct raw c;
	size_t next_reply;
	size_t first;		/* interface index of its first call */
};

START_TEST(test_concurrency_300_clients_pipelining_20_calls)
{
	static struct conc_client cl[CONC_CLIENTS];
	static struct pollfd pfd[CONC_CLIENTS];
	struct test_daemon td;
	size_t done = 0, replies = 0;
	double start, secs;

	daemon_start(&td, NULL, NULL);
	start = now_sec();
	for (size_t i = 0; i < CONC_CLIENTS; i++) {
		char all[CONC_CALLS * 200];
		size_t len = 0;

		raw_open(&td, &cl[i].c);
		cl[i].first = i;
		cl[i].next_reply = 0;
		for (size_t k = 0; k < CONC_CALLS; k++)
			len += describe_call(all + len, 200, i + k);
		raw_send(&cl[i].c, all, len);
	}
	while (done < CONC_CLIENTS) {
		int n;

		for (size_t i = 0; i < CONC_CLIENTS; i++)
			pfd[i] = (struct pollfd){ .fd = cl[i].next_reply < CONC_CALLS ? cl[i].c.fd : -1,
						  .events = POLLIN };
		n = poll(pfd, CONC_CLIENTS, 20000);
		ck_assert_msg(n > 0, "no reply for 20 s (%zu of %d clients done)", done, CONC_CLIENTS);
		for (size_t i = 0; i < CONC_CLIENTS; i++) {
			struct conc_client *k = &cl[i];
			ssize_t got;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (k->c.cap - k->c.len < 65536) {
				k->c.cap = k->c.cap ? k->c.cap * 2 : 131072;
				k->c.buf = realloc(k->c.buf, k->c.cap);
				ck_assert_ptr_nonnull(k->c.buf);
			}
			got = recv(k->c.fd, k->c.buf + k->c.len, k->c.cap - k->c.len, 0);
			ck_assert_msg(got > 0, "client %zu: connection lost after %zu replies", i, k->next_reply);
			k->c.len += (size_t)got;
			for (;;) {
				char *nul = memchr(k->c.buf, '\0', k->c.len);
				size_t mlen;

				if (!nul)
					break;
				mlen = (size_t)(nul - k->c.buf);
				ck_assert_msg(describe_reply_is(k->c.buf, k->first + k->next_reply),
					      "client %zu: reply %zu out of order", i, k->next_reply);
				memmove(k->c.buf, nul + 1, k->c.len - mlen - 1);
				k->c.len -= mlen + 1;
				replies++;
				if (++k->next_reply == CONC_CALLS)
					done++;
			}
		}
	}
	secs = now_sec() - start;
	fprintf(stderr, "concurrency: %d clients x %d pipelined calls = %zu replies, all in order, in %.3f s (%.0f calls/s)\n",
		CONC_CLIENTS, CONC_CALLS, replies, secs, (double)replies / secs);
	ck_assert_uint_eq(replies, CONC_CLIENTS * CONC_CALLS);
	for (size_t i = 0; i < CONC_CLIENTS; i++)
		raw_close(&cl[i].c);
	daemon_stop(&td);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The socket's life. */

START_TEST(test_socket_is_mode_0660_and_removed_at_sigterm)
{
	struct test_daemon td;
	struct stat st;
	int r;

	daemon_start(&td, NULL, NULL);
	ck_assert_int_eq(lstat(td.socket, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	r = test_daemon_stop(&td, SIGTERM);
	ck_assert_int_eq(r, 0);
	ck_assert_int_ne(lstat(td.socket, &st), 0);
	test_daemon_cleanup(&td);
}
END_TEST

START_TEST(test_socket_sigterm_finishes_replies_in_progress)
{
	struct test_daemon td;
	struct raw c;
	char all[200 * 50];
	size_t len = 0;
	int got = 0;

	daemon_start(&td, NULL, NULL);
	raw_open(&td, &c);
	for (size_t i = 0; i < 50; i++)
		len += describe_call(all + len, 200, i);
	raw_send(&c, all, len);
	/* Wait for the first reply, so calls are under way when the signal comes. */
	for (;;) {
		char *msg = NULL;
		int r = raw_recv(&c, 5000, &msg);

		if (r != 1)
			break;
		ck_assert(describe_reply_is(msg, (size_t)got));
		free(msg);
		if (++got == 1)
			kill(td.pid, SIGTERM);
	}
	/* Every reply written arrived whole and in order, then the connection closed. */
	ck_assert_int_ge(got, 1);
	ck_assert_int_eq(test_daemon_stop(&td, 0), 0);
	raw_close(&c);
	test_daemon_cleanup(&td);
}
END_TEST

START_TEST(test_socket_of_another_instance_is_left_at_exit)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct test_daemon td;
	struct stat st;
	int fd;

	daemon_start(&td, NULL, NULL);
	/* Someone replaced the socket file (a second instance after a stale check, say). */
	ck_assert_int_eq(unlink(td.socket), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", td.socket);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(test_daemon_stop(&td, SIGTERM), 0);
	ck_assert_int_eq(lstat(td.socket, &st), 0);
	close(fd);
	test_daemon_cleanup(&td);
}
END_TEST

START_TEST(test_socket_stale_one_is_replaced)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct test_daemon td;
	struct raw c;
	int fd;

	daemon_dir(&td, NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/io.hvcap", td.dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);	/* the file stays, nobody listens: stale */
	daemon_start_in_dir(&td, false, NULL);
	raw_open(&td, &c);
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	ck_assert(log_contains(&td, "removed a stale socket"));
	raw_close(&c);
	daemon_stop(&td);
}
END_TEST

START_TEST(test_socket_second_instance_refuses_to_start)
{
	struct test_daemon td;
	char out[4096], state[400];
	struct raw c;
	const char *args[] = { "--listen", NULL, "--state-dir", state, "--host", "model", "--host-dump",
			       dump_path(), NULL };

	daemon_start(&td, NULL, NULL);
	args[1] = td.socket;
	snprintf(state, sizeof(state), "%s/state2", td.dir);
	ck_assert_int_eq(run_hvcapd(args, NULL, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "another instance"), "message: %s", out);
	/* The first instance keeps its socket. */
	raw_open(&td, &c);
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	raw_close(&c);
	daemon_stop(&td);
}
END_TEST

/*
 * Start hvcapd with fd as its activated socket (fd 3, LISTEN_FDS=n).  The
 * control file goes to td's directory: without --listen its default is
 * the system's (/run/hvcap/control as root), which a test must not touch.
 */
static int start_activated(struct test_daemon *td, int fd, int n_fds)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char control[128];
	const char *argv[] = { test_hvcapd_path(), "--state-dir", td->state, "--host", "model", "--host-dump",
			       dump_path(), "--control", control, NULL };

	snprintf(control, sizeof(control), "%s/control", td->dir);
	snprintf(td->notify, sizeof(td->notify), "%s/notify", td->dir);
	snprintf(td->state, sizeof(td->state), "%s/state", td->dir);
	snprintf(td->log, sizeof(td->log), "%s/hvcapd.log", td->dir);
	td->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(td->notify_fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", td->notify);
	ck_assert_int_eq(bind(td->notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	argv[2] = td->state;
	td->pid = fork();
	ck_assert_int_ge(td->pid, 0);
	if (td->pid == 0) {
		char pid[32], nfds[16];
		int log = open(td->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (log >= 0)
			dup2(log, STDERR_FILENO);
		for (int i = 0; i < n_fds; i++)
			if (dup2(fd, 3 + i) < 0)
				_exit(126);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		snprintf(nfds, sizeof(nfds), "%d", n_fds);
		setenv("LISTEN_PID", pid, 1);
		setenv("LISTEN_FDS", nfds, 1);
		setenv("NOTIFY_SOCKET", td->notify, 1);
		test_exec_hvcapd(argv);
		_exit(127);
	}
	return test_daemon_wait_notify(td, "READY=1", 20000);
}

static int listening_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	return fd;
}

START_TEST(test_socket_activation_serves_the_passed_socket)
{
	struct test_daemon td;
	struct raw c;
	struct stat st;
	int fd, r;

	daemon_dir(&td, NULL);
	snprintf(td.socket, sizeof(td.socket), "%s/activated.sock", td.dir);
	fd = listening_socket(td.socket);
	r = start_activated(&td, fd, 1);
	if (r < 0)
		print_log(&td);
	ck_assert_int_eq(r, 0);
	close(fd);
	raw_open(&td, &c);
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	raw_close(&c);
	/* systemd owns the socket file: it stays. */
	ck_assert_int_eq(test_daemon_stop(&td, SIGTERM), 0);
	ck_assert_int_eq(lstat(td.socket, &st), 0);
	test_daemon_cleanup(&td);
}
END_TEST

START_TEST(test_socket_activation_refuses_two_sockets)
{
	struct test_daemon td;
	char path[400];
	int fd, status = 0;

	daemon_dir(&td, NULL);
	snprintf(path, sizeof(path), "%s/activated.sock", td.dir);
	fd = listening_socket(path);
	ck_assert_int_ne(start_activated(&td, fd, 2), 0);
	close(fd);
	waitpid(td.pid, &status, 0);
	td.pid = 0;
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert(log_contains(&td, "exactly one"));
	close(td.notify_fd);
	test_daemon_cleanup(&td);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The command line and the configuration file. */

START_TEST(test_cmdline_help_documents_every_option)
{
	static const char *const opts[] = { "--listen", "--state-dir", "--control", "--host ", "--host-dump",
					    "--param", "--admin-group", "--config", "--log-level", "--version",
					    "--help" };
	const char *args[] = { "--help", NULL };
	char out[8192];

	ck_assert_int_eq(run_hvcapd(args, NULL, out, sizeof(out)), 0);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		ck_assert_msg(strstr(out, opts[i]), "--help does not mention %s", opts[i]);
}
END_TEST

START_TEST(test_cmdline_usage_errors_exit_2)
{
	const char *bad_option[] = { "--no-such-option", NULL };
	const char *bad_host[] = { "--host", "xen", NULL };
	const char *bad_level[] = { "--log-level", "loud", NULL };
	const char *extra_arg[] = { "serve", NULL };
	char out[4096];

	ck_assert_int_eq(run_hvcapd(bad_option, NULL, out, sizeof(out)), 2);
	ck_assert_int_eq(run_hvcapd(bad_host, NULL, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "xen"));
	ck_assert_int_eq(run_hvcapd(bad_level, NULL, out, sizeof(out)), 2);
	ck_assert_int_eq(run_hvcapd(extra_arg, NULL, out, sizeof(out)), 2);
}
END_TEST

/* A config that must stop the start with FILE:LINE: want. */
static void check_bad_config(const char *config, const char *want)
{
	struct test_daemon td;
	char out[4096], conf[400], sock[400], state[400];
	const char *args[] = { "--config", conf, "--listen", sock, "--state-dir", state, "--host", "model",
			       "--host-dump", dump_path(), NULL };

	daemon_dir(&td, config);
	snprintf(conf, sizeof(conf), "%s/hvcapd.conf", td.dir);
	snprintf(sock, sizeof(sock), "%s/io.hvcap", td.dir);
	snprintf(state, sizeof(state), "%s/state", td.dir);
	ck_assert_int_eq(run_hvcapd(args, NULL, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, conf) && strstr(out, want), "expected '%s: ... %s', got: %s", conf, want, out);
	ck_assert_int_ne(access(sock, F_OK), 0);
	test_daemon_cleanup(&td);
}

START_TEST(test_config_errors_name_file_and_line)
{
	check_bad_config("# comment\n\nmax_vms = 10\nno_such_key = 1\n", ".conf:4: unknown key 'no_such_key'");
	check_bad_config("idle_timeout = soon\n", ".conf:1: idle_timeout: expected an integer");
	check_bad_config("max_message = 99999999\n", ".conf:1: max_message");
	check_bad_config("max_connections = 0\n", ".conf:1: max_connections");
	check_bad_config("host = xen\n", ".conf:1: host");
	check_bad_config("log_level = loud\n", ".conf:1: log_level");
	check_bad_config("param = novalue\n", ".conf:1: param");
	check_bad_config("max_vms\n", ".conf:1: expected 'key = value'");
	check_bad_config("max_vms = 1\nmax_vms = 2\n", ".conf:2: max_vms given twice");
	check_bad_config("admin_group = no-such-group-hvcap\n", "no-such-group-hvcap");
}
END_TEST

START_TEST(test_cmdline_user_defaults_follow_xdg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct test_daemon td;
	char run_sock[80], state[120], xdg_state[96];
	struct stat st;
	struct raw c;
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: running hvcapd as another user needs root\n");
		return;
	}
	daemon_dir(&td, NULL);
	snprintf(td.notify, sizeof(td.notify), "%s/notify", td.dir);
	snprintf(td.log, sizeof(td.log), "%s/hvcapd.log", td.dir);
	snprintf(run_sock, sizeof(run_sock), "%s/hvcap/io.hvcap", td.dir);
	snprintf(xdg_state, sizeof(xdg_state), "%s/xdg-state", td.dir);
	snprintf(state, sizeof(state), "%s/hvcap", xdg_state);
	snprintf(td.socket, sizeof(td.socket), "%s", run_sock);
	td.notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", td.notify);
	ck_assert_int_eq(bind(td.notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(chmod(td.notify, 0666), 0);
	ck_assert_int_eq(chown(td.dir, NOBODY_UID, NOBODY_GID), 0);
	td.pid = fork();
	ck_assert_int_ge(td.pid, 0);
	if (td.pid == 0) {
		const char *argv[] = { test_hvcapd_path(), "--host", "model", "--host-dump", dump_path(), NULL };
		int log = open(td.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (log >= 0)
			dup2(log, STDERR_FILENO);
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY_GID, NOBODY_GID, NOBODY_GID) < 0 ||
		    setresuid(NOBODY_UID, NOBODY_UID, NOBODY_UID) < 0)
			_exit(126);
		setenv("XDG_RUNTIME_DIR", td.dir, 1);
		setenv("XDG_STATE_HOME", xdg_state, 1);
		setenv("NOTIFY_SOCKET", td.notify, 1);
		test_exec_hvcapd(argv);
		_exit(127);
	}
	r = test_daemon_wait_notify(&td, "READY=1", 20000);
	if (r < 0)
		print_log(&td);
	ck_assert_int_eq(r, 0);
	/* $XDG_RUNTIME_DIR/hvcap/io.hvcap, its directory made 0750; $XDG_STATE_HOME/hvcap. */
	ck_assert_int_eq(lstat(run_sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_uid, NOBODY_UID);
	snprintf(run_sock, sizeof(run_sock), "%s/hvcap", td.dir);
	ck_assert_int_eq(stat(run_sock, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0750);
	ck_assert_int_eq(stat(state, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	raw_open(&td, &c);
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	raw_close(&c);
	ck_assert_int_eq(test_daemon_stop(&td, SIGTERM), 0);
	ck_assert_int_ne(access(td.socket, F_OK), 0);
	test_daemon_cleanup(&td);
}
END_TEST

START_TEST(test_config_command_line_wins)
{
	struct test_daemon td;
	const char *extra[] = { "--log-level", "debug", NULL };
	struct raw c;

	/* The file says err; the command line's debug wins (debug lines appear). */
	daemon_start(&td, "# limits for this test\nlog_level = err\nmax_connections = 10\n", extra);
	raw_open(&td, &c);
	raw_send_msg(&c, GET_INFO);
	expect_get_info(&c);
	raw_close(&c);
	usleep(100000);
	ck_assert(log_contains(&td, "<7>"));
	daemon_stop(&td);
}
END_TEST

static Suite *daemon_server_suite(void)
{
	Suite *s = suite_create("daemon-server");
	TCase *tc;

	tc = tcase_create("service");
	tcase_add_test(tc, test_service_get_info_lists_every_interface);
	tcase_add_test(tc, test_service_interface_description_parses_to_served_methods);
	tcase_add_test(tc, test_service_every_idl_method_is_served);
	suite_add_tcase(s, tc);

	tc = tcase_create("dispatch");
	tcase_add_test(tc, test_dispatch_unknown_interface_and_method_are_named);
	tcase_add_test(tc, test_dispatch_needs_more_without_more_is_expected_more);
	tcase_add_test(tc, test_dispatch_oneway_gets_no_reply_and_order_holds);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_test(tc, test_stream_watch_continues_outlives_idle_and_ends_with_the_client);
	tcase_add_test(tc, test_stream_open_at_sigterm_stops_cleanly);
	suite_add_tcase(s, tc);

	tc = tcase_create("notify");
	tcase_add_test(tc, test_notify_watchdog_reload_and_stopping);
	suite_add_tcase(s, tc);

	tc = tcase_create("framing");
	tcase_add_test(tc, test_framing_message_at_max_is_served);
	tcase_add_test(tc, test_framing_message_over_max_closes_only_that_connection);
	tcase_add_test(tc, test_framing_frame_without_nul_then_eof_is_dropped);
	tcase_add_test(tc, test_framing_nul_inside_json_closes);
	tcase_add_test(tc, test_framing_invalid_utf8_closes);
	tcase_add_test(tc, test_framing_malformed_json_closes);
	tcase_add_test(tc, test_framing_not_an_object_closes);
	tcase_add_test(tc, test_framing_depth_at_limit_and_past_it);
	tcase_add_test(tc, test_framing_random_bytes_never_cost_the_daemon);
	suite_add_tcase(s, tc);

	tc = tcase_create("pipeline");
	tcase_add_test(tc, test_pipeline_100_calls_answered_in_order);
	tcase_add_test(tc, test_pipeline_past_the_queue_limit_answered_in_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("auth");
	tcase_add_test(tc, test_auth_unprivileged_peer_is_denied_privileged_methods);
	tcase_add_test(tc, test_auth_admin_group_member_may_call_privileged_methods);
	tcase_add_test(tc, test_auth_unknown_admin_group_stops_the_start);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_limits_connections_total_at_limit_and_one_past);
	tcase_add_test(tc, test_limits_connections_per_uid_at_limit_and_one_past);
	tcase_add_test(tc, test_accept_pauses_when_out_of_fds_and_recovers);
	suite_add_tcase(s, tc);

	tc = tcase_create("timeouts");
	tcase_add_test(tc, test_timeouts_silent_and_half_sent_clients_are_closed);
	tcase_add_test(tc, test_timeouts_client_not_reading_is_closed);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_concurrency_300_clients_pipelining_20_calls);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_add_test(tc, test_socket_is_mode_0660_and_removed_at_sigterm);
	tcase_add_test(tc, test_socket_sigterm_finishes_replies_in_progress);
	tcase_add_test(tc, test_socket_stale_one_is_replaced);
	tcase_add_test(tc, test_socket_of_another_instance_is_left_at_exit);
	tcase_add_test(tc, test_socket_second_instance_refuses_to_start);
	tcase_add_test(tc, test_socket_activation_serves_the_passed_socket);
	tcase_add_test(tc, test_socket_activation_refuses_two_sockets);
	suite_add_tcase(s, tc);

	tc = tcase_create("cmdline");
	tcase_add_test(tc, test_cmdline_help_documents_every_option);
	tcase_add_test(tc, test_cmdline_usage_errors_exit_2);
	tcase_add_test(tc, test_config_errors_name_file_and_line);
	tcase_add_test(tc, test_config_command_line_wins);
	tcase_add_test(tc, test_cmdline_user_defaults_follow_xdg);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	/* A test that fails with ck_assert leaves its daemon to Check, which kills the test's process group. */
	signal(SIGPIPE, SIG_IGN);
	return test_run_suite(daemon_server_suite());
}
