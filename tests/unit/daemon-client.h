/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Drive the real hvcapd (daemon-harness.h starts it) from a Check suite:
 * start and restart it on a model host, call its methods through proto's
 * client, read the replies, and write the host dumps it serves.
 *
 * This header defines the state of one test program; include it from
 * one .c file only.  Its globals:
 *
 *   td            the daemon: its directory, socket, state and log
 *   cl            the client connected to it (NULL while it is stopped)
 *   control_path  where the control file is: beside the socket (td.dir/control)
 *   daemon_fsize  RLIMIT_FSIZE for the next daemon alone (0: none)
 *   dumps_dir     setup_dumps()' temporary directory, removed at exit
 *   dump_eraps    an ERAPS host, x2AVIC, SEV-SNP in the CPU: the EPYC-9334
 *                 given ERAPS and a 64-entry RAP, or synthetic-hosts.h's
 *                 Zen 5-like CPU without $HVCAP_TESTDATA
 *   dump_hybrid   AVIC without x2AVIC: the EPYC-7601, or the synthetic
 *                 CPU without x2AVIC
 *   hybrid_param  the parameter that turns AVIC on for it ("avic=on")
 *
 * The last part turns Vm.Get's values into the control plane's encodings
 * (hvcap/control.h) to compare the two; inhibits_of() needs libhvcore.
 *
 * Whatever goes wrong fails the test (ck_abort): a call that does not get
 * a reply, a reply that is not the one asked for, a key missing from it.
 * The JSON accessors run per vCPU and per feature, so they assert with
 * check_that(), which records nothing while the condition holds.  The
 * daemon is killed and its directory removed at exit (from the first
 * start on); a process the test forks must leave with _exit().
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include <hvcap/control.h>
#include <hvcore/vm.h>
#include <libcaps/caps.h>
#include <libcaps/dump.h>
#include <proto/client.h>

#include "daemon-harness.h"
#include "synthetic-hosts.h"
#include "test-util.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/*
 * An assertion for the loops over every slot, page, vCPU and feature:
 * Check's ck_assert*() record each passing assertion, which over the
 * millions these loops make would cost more than the test itself.
 */
#define check_that(cond, ...)				\
	do {						\
		if (!(cond))				\
			ck_abort_msg(__VA_ARGS__);	\
	} while (0)

/* Arguments a helper passes to hvcapd, its own and the caller's. */
#define DAEMON_MAX_ARGS 40

static struct test_daemon td;
static struct proto_client *cl;
static char control_path[128];
static rlim_t daemon_fsize;
static char dumps_dir[256];
static char dump_eraps[512];
static char dump_hybrid[512];
static char hybrid_param[32];

/* ------------------------------------------------------------------ */
/* The daemon and the client. */

static inline void kill_daemon_at_exit(void)
{
	if (td.pid > 0) {
		kill(td.pid, SIGKILL);
		waitpid(td.pid, NULL, 0);
		td.pid = 0;
	}
	test_daemon_cleanup(&td);
}

static inline void connect_client(void)
{
	if (cl)
		proto_client_free(cl);
	cl = NULL;
	ck_assert_int_eq(proto_client_connect(td.address, &cl), 0);
	proto_client_set_timeout(cl, 20000);
}

/* Append the NULL-terminated arguments from first on to argv[n..]; the new count (room for the NULL kept). */
static inline size_t daemon_args_append(const char **argv, size_t n, const char *first, va_list ap)
{
	for (const char *a = first; a && n < DAEMON_MAX_ARGS - 1; a = va_arg(ap, const char *))
		argv[n++] = a;
	argv[n] = NULL;
	return n;
}

/*
 * Start hvcapd with the NULL-terminated extra arguments (after the
 * harness's --listen and --state-dir: a later --state-dir wins) and
 * connect cl; reuse keeps td's directory (a restart).  0 or the harness's
 * -errno.  daemon_fsize, when set, limits the daemon's file sizes.
 */
static inline int daemon_start_argv(bool reuse, const char *const *extra)
{
	static bool registered;
	int r;

	if (!registered) {
		atexit(kill_daemon_at_exit);
		registered = true;
	}
	if (reuse && cl) {
		proto_client_free(cl);
		cl = NULL;
	}
	if (daemon_fsize) {
		struct rlimit saved, rl;
		int r1, r2;

		/*
		 * The daemon inherits the limit; the test drops it again at
		 * once, with no Check message in between (Check writes its
		 * messages to a file of its own, which may be larger).
		 */
		r1 = getrlimit(RLIMIT_FSIZE, &saved);
		rl = saved;
		rl.rlim_cur = daemon_fsize;
		r2 = r1 < 0 ? r1 : setrlimit(RLIMIT_FSIZE, &rl);
		r = test_daemon_start_argv(&td, reuse, extra);
		if (r2 == 0)
			r2 = setrlimit(RLIMIT_FSIZE, &saved);
		ck_assert_msg(r1 == 0 && r2 == 0, "RLIMIT_FSIZE: %s", strerror(errno));
	} else {
		r = test_daemon_start_argv(&td, reuse, extra);
	}
	snprintf(control_path, sizeof(control_path), "%s/control", td.dir);
	if (r == 0)
		connect_client();
	return r;
}

/* daemon_start_argv() with the arguments listed, NULL-terminated. */
static inline int daemon_start(bool reuse, const char *first, ...)
{
	const char *extra[DAEMON_MAX_ARGS];
	va_list ap;

	va_start(ap, first);
	daemon_args_append(extra, 0, first, ap);
	va_end(ap);
	return daemon_start_argv(reuse, extra);
}

/* hvcapd on the model of dump, with the extra arguments; a failure to start fails the test saying verb. */
static inline void daemon_start_model(const char *verb, bool reuse, const char *dump, const char *first,
				      va_list ap)
{
	const char *extra[DAEMON_MAX_ARGS] = { "--host", "model", "--host-dump", dump };
	int r;

	daemon_args_append(extra, 4, first, ap);
	r = daemon_start_argv(reuse, extra);
	ck_assert_msg(r == 0, "hvcapd did not %s: %s (log %s)", verb, strerror(-r), td.log);
}

/* Start hvcapd on a model host with the NULL-terminated extra arguments; reuse keeps the directory. */
static inline void start_model(bool reuse, const char *dump, const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	daemon_start_model("start", reuse, dump, first, ap);
	va_end(ap);
}

/* Stop hvcapd with sig (it exits 0 on SIGTERM) and drop the client. */
static inline void stop(int sig)
{
	proto_client_free(cl);
	cl = NULL;
	ck_assert_int_eq(test_daemon_stop(&td, sig), sig == SIGKILL ? 128 + SIGKILL : 0);
}

/* Stop hvcapd cleanly and start it again over the same state, as start_model(). */
static inline void restart_model(const char *dump, const char *first, ...)
{
	va_list ap;

	stop(SIGTERM);
	va_start(ap, first);
	daemon_start_model("restart", true, dump, first, ap);
	va_end(ap);
}

/*
 * Run hvcapd over td's directory on the model of dump, with the extra
 * arguments, expecting it to refuse to start: its exit status (it must
 * exit within 20 s); stderr goes to td.log.
 */
static inline int start_expect_failure(const char *dump, const char *first, ...)
{
	const char *argv[DAEMON_MAX_ARGS] = {
		test_hvcapd_path(), "--listen", td.socket, "--state-dir", td.state,
		"--host", "model", "--host-dump", dump,
	};
	int status = 0;
	va_list ap;
	pid_t pid;

	va_start(ap, first);
	daemon_args_append(argv, 9, first, ap);
	va_end(ap);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(td.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		unsetenv("NOTIFY_SOCKET");
		test_exec_hvcapd(argv);
		_exit(127);
	}
	for (int i = 0; i < 2000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ck_abort_msg("hvcapd started when it should not have (state %s, log %s)", td.state, td.log);
	return -1;
}

/* Whether the daemon's log (its first 16 KiB) contains s. */
static inline bool log_contains(const char *s)
{
	char buf[16384];
	FILE *f = fopen(td.log, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, s) != NULL;
}

/* ------------------------------------------------------------------ */
/* Calls and their replies. */

/* Call with parameters given as JSON text (NULL: none); the reply is the caller's. */
static inline struct proto_reply call_on(struct proto_client *c, const char *method, const char *params_json)
{
	struct proto_reply reply;
	struct json_object *p = NULL;
	int r;

	if (params_json) {
		p = json_tokener_parse(params_json);
		ck_assert_msg(p, "test bug: bad JSON %s", params_json);
	}
	r = proto_client_call(c, method, p, 0, &reply);
	json_object_put(p);
	ck_assert_msg(r == 0, "%s: call failed: %s", method, strerror(-r));
	return reply;
}

static inline struct proto_reply call(const char *method, const char *params_json)
{
	return call_on(cl, method, params_json);
}

static inline struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	check_that(json_object_object_get_ex(o, key, &v), "no \"%s\" in %.300s", key,
		   json_object_to_json_string(o));
	return v;
}

static inline int64_t get_int(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	check_that(json_object_is_type(v, json_type_int), "\"%s\" is not an integer", key);
	return json_object_get_int64(v);
}

static inline const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	check_that(json_object_is_type(v, json_type_string), "\"%s\" is not a string", key);
	return json_object_get_string(v);
}

static inline bool get_bool(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	check_that(json_object_is_type(v, json_type_boolean), "\"%s\" is not a boolean", key);
	return json_object_get_boolean(v);
}

/* A "0x..." string, as the API writes registers and addresses. */
static inline uint64_t get_hex(struct json_object *o, const char *key)
{
	const char *s = get_str(o, key);
	char *end;
	uint64_t v;

	check_that(strncmp(s, "0x", 2) == 0, "\"%s\": %s", key, s);
	errno = 0;
	v = strtoull(s + 2, &end, 16);
	check_that(!errno && *end == '\0', "\"%s\": %s", key, s);
	return v;
}

/* A successful call's parameters (a new reference). */
static inline struct json_object *ok(const char *method, const char *params_json)
{
	struct proto_reply r = call(method, params_json);
	struct json_object *p;

	ck_assert_msg(!r.error[0], "%s %.200s: %s %.200s", method, params_json ? params_json : "", r.error,
		      json_object_to_json_string(r.parameters));
	p = json_object_get(r.parameters);
	proto_reply_done(&r);
	return p;
}

/* An error reply named error; its parameters (a new reference). */
static inline struct json_object *fails_p(const char *method, const char *params_json, const char *error)
{
	struct proto_reply r = call(method, params_json);
	struct json_object *p;

	ck_assert_msg(strcmp(r.error, error) == 0, "%s %.200s: expected %s, got \"%s\" %.200s", method,
		      params_json ? params_json : "", error, r.error, json_object_to_json_string(r.parameters));
	p = json_object_get(r.parameters);
	proto_reply_done(&r);
	return p;
}

/* ------------------------------------------------------------------ */
/* VMs and vCPUs. */

/* Vm.Create with a policy given as JSON text; the new VM's id. */
static inline uint32_t create(const char *name, const char *policy)
{
	char params[4096];
	struct json_object *p;
	uint32_t id;

	snprintf(params, sizeof(params), "{\"name\": \"%s\", \"policy\": %s}", name, policy);
	p = ok("io.hvcap.Vm.Create", params);
	id = (uint32_t)get_int(p, "vm");
	json_object_put(p);
	return id;
}

static inline void delete_vm(uint32_t vm)
{
	char params[64];

	snprintf(params, sizeof(params), "{\"vm\": %u}", vm);
	json_object_put(ok("io.hvcap.Vm.Delete", params));
}

/* Vm.Get's "vm" object (a new reference). */
static inline struct json_object *vm_info(uint32_t vm)
{
	char params[64];
	struct json_object *p, *v;

	snprintf(params, sizeof(params), "{\"vm\": %u}", vm);
	p = ok("io.hvcap.Vm.Get", params);
	v = json_object_get(get(p, "vm"));
	json_object_put(p);
	return v;
}

/* vCPU id's object in a Vm.Get "vm" object (borrowed from it). */
static inline struct json_object *vcpu_info(struct json_object *vm, uint32_t id)
{
	struct json_object *vcpus = get(vm, "vcpus");

	for (size_t i = 0; i < json_object_array_length(vcpus); i++) {
		struct json_object *v = json_object_array_get_idx(vcpus, i);

		if (get_int(v, "vcpu") == id)
			return v;
	}
	ck_abort_msg("no vCPU %u", id);
	return NULL;
}

/* One call on vm/vcpu with extra parameters (", \"cr3\": ..." or ""); the reply's parameters (a new reference). */
static inline struct json_object *vcpu_call(const char *method, uint32_t vm, uint32_t vcpu, const char *extra)
{
	char params[512];

	snprintf(params, sizeof(params), "{\"vm\": %u, \"vcpu\": %u%s}", vm, vcpu, extra);
	return ok(method, params);
}

/* ------------------------------------------------------------------ */
/* Hosts: dumps the tests write, never commit. */

static inline void set_feature(struct caps_dump *d, int feature, bool on)
{
	const struct caps_word_info *wi = caps_word_info(caps_feature_word(feature));

	for (size_t i = 0; i < d->cpuid.nent; i++) {
		struct caps_cpuid_entry *e = &d->cpuid.entries[i];
		uint32_t v;

		if (e->function != wi->function || e->index != wi->index)
			continue;
		v = caps_cpuid_entry_reg(e, wi->reg);
		caps_cpuid_entry_set_reg(e, wi->reg, on ? v | caps_feature_mask(feature) : v & ~caps_feature_mask(feature));
		return;
	}
	ck_abort_msg("dump has no entry for feature %d", feature);
}

static inline void write_dump(const struct caps_dump *d, const char *path)
{
	char *text = NULL, tmp[600];
	FILE *f;

	ck_assert_int_eq(caps_dump_write(d, CAPS_DUMP_JSON, &text), 0);
	/* Replaced atomically: a reload never reads half a dump. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
	free(text);
}

/* libvirt's dump of cpu from $HVCAP_TESTDATA; false without it. */
static inline bool read_testdata(const char *cpu, struct caps_dump *d)
{
	const char *top = getenv("HVCAP_TESTDATA");
	struct caps_dump_error err = { 0 };
	char path[4096];

	if (!top)
		return false;
	snprintf(path, sizeof(path), "%s/libvirt-cputestdata/x86_64-cpuid-%s.xml", top, cpu);
	if (access(path, R_OK) != 0)
		return false;
	ck_assert_msg(caps_dump_read_file(path, CAPS_DUMP_AUTO, d, &err) == 0, "%s: %s", path, err.message);
	return true;
}

/* The ERAPS host's raw CPUID: a Zen 4 given ERAPS and a 64-entry RAP (it has SEV-SNP), or the synthetic Zen 5. */
static inline void eraps_host(struct caps_dump *d)
{
	if (read_testdata("EPYC-9334-32-Core", d)) {
		set_feature(d, X86_FEATURE_ERAPS, true);
		for (size_t i = 0; i < d->cpuid.nent; i++)
			if (d->cpuid.entries[i].function == 0x80000021)
				d->cpuid.entries[i].ebx = (d->cpuid.entries[i].ebx & ~0x00ff0000u) | (64u << 16);
		return;
	}
	synth_host_amd(d);
}

/* The hybrid AVIC host's: the Zen 1 (AVIC without x2AVIC), or the synthetic CPU without x2AVIC. */
static inline void hybrid_host(struct caps_dump *d)
{
	if (!read_testdata("EPYC-7601-32-Core", d)) {
		synth_host_amd(d);
		set_feature(d, X86_FEATURE_X2AVIC, false);
	}
}

static inline void dumps_cleanup(void)
{
	char cmd[400];

	if (dumps_dir[0] && strncmp(dumps_dir, "/tmp/hvcapd-dumps.", 18) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dumps_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dumps_dir);
	}
}

/* Write both hosts' dumps into a new dumps_dir, removed at exit. */
static inline void setup_dumps(void)
{
	static struct caps_dump d;

	snprintf(dumps_dir, sizeof(dumps_dir), "/tmp/hvcapd-dumps.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dumps_dir));
	atexit(dumps_cleanup);
	snprintf(dump_eraps, sizeof(dump_eraps), "%s/eraps.json", dumps_dir);
	eraps_host(&d);
	write_dump(&d, dump_eraps);
	snprintf(dump_hybrid, sizeof(dump_hybrid), "%s/hybrid.json", dumps_dir);
	hybrid_host(&d);
	write_dump(&d, dump_hybrid);
	snprintf(hybrid_param, sizeof(hybrid_param), "avic=on");
}

/* ------------------------------------------------------------------ */
/* Vm.Get's values as the control plane encodes them (hvcap/control.h). */

/* Feature f in a cap array: bit f % 32 of word f / 32. */
static inline bool word_has(const uint32_t *words, int feature)
{
	return (words[feature / 32] >> (feature % 32)) & 1;
}

/* The features a list of names gives. */
static inline void features_from_json(struct json_object *names, struct caps *ret)
{
	caps_zero(ret);
	for (size_t i = 0; i < json_object_array_length(names); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(names, i));
		int id = caps_feature_lookup(name);

		check_that(id >= 0, "unknown feature %s", name);
		caps_set(ret, id);
	}
}

/* words (a control-plane cap array of HVCAP_CTL_CAP_WORDS) has exactly the named features of want. */
static inline void assert_words_are(const uint32_t *words, const struct caps *want, const char *what)
{
	for (int f = 0; f < CAPS_NR_FEATURE_IDS; f++) {
		if (!caps_feature_name(f, CAPS_NAMES_LINUX))
			continue;
		check_that(word_has(words, f) == caps_has(want, f), "%s: feature %s: %d, expected %d", what,
			   caps_feature_name(f, CAPS_NAMES_LINUX), word_has(words, f), caps_has(want, f));
	}
	/* Words past libcaps' are not used. */
	for (size_t w = NR_CAPS_WORDS; w < HVCAP_CTL_CAP_WORDS; w++)
		check_that(words[w] == 0, "%s: word %zu past libcaps' is set", what, w);
}

static inline uint32_t memslot_of(const char *s)
{
	if (strcmp(s, "enabled") == 0)
		return HVCAP_CTL_MEMSLOT_ENABLED;
	if (strcmp(s, "inhibited") == 0)
		return HVCAP_CTL_MEMSLOT_INHIBITED;
	ck_assert_str_eq(s, "not_allocated");
	return HVCAP_CTL_MEMSLOT_NOT_ALLOCATED;
}

static inline uint32_t apic_mode_of(const char *s)
{
	if (strcmp(s, "xapic") == 0)
		return HVCAP_CTL_APIC_XAPIC;
	if (strcmp(s, "x2apic") == 0)
		return HVCAP_CTL_APIC_X2APIC;
	ck_assert_str_eq(s, "disabled");
	return HVCAP_CTL_APIC_DISABLED;
}

/* The APICv inhibit reasons named, as a mask (bit n: KVM's reason n). */
static inline uint32_t inhibits_of(struct json_object *names)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < json_object_array_length(names); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(names, i));
		int bit = -1;

		for (int k = 0; k < NR_APICV_INHIBIT_REASONS; k++)
			if (strcmp(hv_apicv_inhibit_name((enum hv_apicv_inhibit)k), name) == 0)
				bit = k;
		ck_assert_msg(bit >= 0, "unknown inhibit %s", name);
		mask |= 1u << bit;
	}
	return mask;
}
