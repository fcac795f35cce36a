/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvcapd's methods, state files and Watch streams, through the real
 * daemon (tests/unit/daemon-harness.h) and proto's client library,
 * with tests/unit/daemon-client.h's helpers.
 *
 * Hosts are model backends from dumps: with $HVCAP_TESTDATA, the
 * EPYC-7601 (Zen 1: AVIC without x2AVIC, so hybrid AVIC with avic=on)
 * and an ERAPS host made from the EPYC-9334 (Zen 4) by setting the
 * ERAPS bit and a 64-entry RAP, as test-policy.c does; without it, the
 * same two made from tests/unit/synthetic-hosts.h's Zen 5-like CPU.  The
 * edited dumps are written to the test's temporary directory, never
 * committed.  The kvm backend runs where /dev/kvm opens.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <libcaps/dump.h>
#include <libcaps/file.h>
#include <proto/client.h>

#include "daemon-client.h"

/* ------------------------------------------------------------------ */
/* Calls beyond daemon-client.h's. */

/* An error reply named error, its parameters unread. */
static void fails(const char *method, const char *params_json, const char *error)
{
	json_object_put(fails_p(method, params_json, error));
}

static void fails_param(const char *method, const char *params_json, const char *parameter)
{
	struct json_object *p = fails_p(method, params_json, "org.varlink.service.InvalidParameter");

	ck_assert_str_eq(get_str(p, "parameter"), parameter);
	json_object_put(p);
}

static void fails_limit(const char *method, const char *params_json, const char *limit, int64_t value)
{
	struct json_object *p = fails_p(method, params_json, "io.hvcap.LimitExceeded");

	ck_assert_str_eq(get_str(p, "limit"), limit);
	ck_assert_int_eq(get_int(p, "value"), value);
	json_object_put(p);
}

static int64_t vcpu_call_int(const char *method, uint32_t vm, uint32_t vcpu, const char *extra,
			     const char *key)
{
	struct json_object *p = vcpu_call(method, vm, vcpu, extra);
	int64_t v = get_int(p, key);

	json_object_put(p);
	return v;
}

/* ------------------------------------------------------------------ */
/* hvctl's offline answers for comparison. */

static struct json_object *hvctl_json(const char *args)
{
	const char *b = getenv("HVCAP_BUILDDIR");
	char cmd[2048], *out = NULL;
	size_t len = 0, size = 0;
	struct json_object *o;
	FILE *f;

	const char *wrap = getenv("HVCAP_TEST_WRAPPER");

	/*
	 * Under the daemon's wrapper too: valgrind answers CPUID for the
	 * programs it runs, and hvctl must see the CPU that hvcapd sees.
	 */
	snprintf(cmd, sizeof(cmd), "HVCAP_ADDRESS=unix:/nonexistent/hvcap %s '%s/cli/hvctl' %s 2>/dev/null",
		 wrap ? wrap : "", b ? b : ".", args);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	for (;;) {
		size_t n;

		if (len + 4096 + 1 > size) {
			size = size ? size * 2 : 65536;
			out = realloc(out, size);
			ck_assert_ptr_nonnull(out);
		}
		n = fread(out + len, 1, size - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	pclose(f);
	ck_assert_ptr_nonnull(out);
	out[len] = '\0';
	o = json_tokener_parse(out);
	ck_assert_msg(o, "hvctl %s printed no JSON: %.200s", args, out);
	free(out);
	return o;
}

/* a[key] equals b[key]; a JSON null and an absent key count as one. */
static void assert_same_key(struct json_object *a, struct json_object *b, const char *key)
{
	struct json_object *x = NULL, *y = NULL;

	json_object_object_get_ex(a, key, &x);
	json_object_object_get_ex(b, key, &y);
	ck_assert_msg(json_object_equal(x, y), "\"%s\" differs: %.300s vs %.300s", key,
		      json_object_to_json_string(x), json_object_to_json_string(y));
}

/* ------------------------------------------------------------------ */
/* io.hvcap.Host */

/*
 * Describe against hvctl's offline record.  The KVM probe's CPUID carries
 * the APIC id of whichever CPU ran it: with_cpuid is false there, and
 * the fingerprint (which leaves the APIC ids out) stands for it.
 */
static void assert_describe_is(struct json_object *offline, bool with_cpuid)
{
	static const char *const keys[] = {
		"backend", "kernel_release", "vendor_module", "api_version", "fingerprint",
		"features", "cpuid", "emulated_cpuid",
	};
	struct json_object *p = ok("io.hvcap.Host.Describe", NULL);
	struct json_object *host = get(p, "host");

	for (size_t i = 0; i < ARRAY_SIZE(keys) - (with_cpuid ? 0 : 2); i++)
		assert_same_key(host, offline, keys[i]);
	json_object_put(p);
}

static void assert_capabilities_are(const char *params, struct json_object *offline)
{
	static const char *const keys[] = { "name", "qemu", "host", "kvm", "reason", "detail", "notes" };
	struct json_object *p = ok("io.hvcap.Host.GetCapabilities", params);
	struct json_object *a = get(p, "features"), *b = get(offline, "features");

	assert_same_key(p, offline, "fingerprint");
	ck_assert_uint_eq(json_object_array_length(a), json_object_array_length(b));
	for (size_t i = 0; i < json_object_array_length(a); i++)
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			assert_same_key(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i), keys[k]);
	json_object_put(p);
}

START_TEST(test_host_describe_and_capabilities_match_hvctl)
{
	char args[1200];
	struct json_object *o;

	setup_dumps();
	start_model(false, dump_hybrid, "--param", hybrid_param, NULL);

	snprintf(args, sizeof(args), "host model --dump '%s' --param %s --json", dump_hybrid, hybrid_param);
	o = hvctl_json(args);
	assert_describe_is(o, true);
	json_object_put(o);

	snprintf(args, sizeof(args), "host features --dump '%s' --param %s --json", dump_hybrid, hybrid_param);
	o = hvctl_json(args);
	assert_capabilities_are(NULL, o);
	json_object_put(o);
	snprintf(args, sizeof(args), "host features --dump '%s' --param %s --all --json", dump_hybrid, hybrid_param);
	o = hvctl_json(args);
	assert_capabilities_are("{\"all\": true, \"names\": \"linux\"}", o);
	json_object_put(o);

	/* Strict parameters. */
	fails_param("io.hvcap.Host.GetCapabilities", "{\"names\": \"klingon\"}", "names");
	fails_param("io.hvcap.Host.GetCapabilities", "{\"all\": 1}", "all");
	fails_param("io.hvcap.Host.Describe", "{\"x\": 1}", "x");
}
END_TEST

START_TEST(test_host_kvm_backend)
{
	struct json_object *p, *o;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int r;

	if (fd < 0) {
		fprintf(stderr, "SKIP test_host_kvm_backend: /dev/kvm: %s\n", strerror(errno));
		return;
	}
	close(fd);
	r = daemon_start(false, "--host", "kvm", NULL);
	ck_assert_msg(r == 0, "hvcapd --host kvm did not start (log %s)", td.log);
	p = ok("io.hvcap.Host.Describe", NULL);
	ck_assert_str_eq(get_str(get(p, "host"), "backend"), "kvm");
	json_object_put(p);
	o = hvctl_json("host probe --json");
	assert_describe_is(o, false);
	json_object_put(o);
	o = hvctl_json("host features --json");
	assert_capabilities_are(NULL, o);
	json_object_put(o);
}
END_TEST

/* ------------------------------------------------------------------ */
/* io.hvcap.Policy */

START_TEST(test_policy_validate_and_compare)
{
	static const char policy[] = "{\"name\": \"web\", \"features\": {\"avx2\": \"require\", \"eraps\": \"optional\"}, "
				     "\"vcpus\": 2}";
	char params[1 << 16], args[1200], *dump_text = NULL;
	struct json_object *p, *o, *e;
	size_t len;
	FILE *f;

	setup_dumps();
	start_model(false, dump_eraps, NULL);

	/* Validate equals hvctl policy check offline on the same host. */
	snprintf(params, sizeof(params), "{\"policy\": %s}", policy);
	p = ok("io.hvcap.Policy.Validate", params);
	ck_assert_str_eq(get_str(p, "verdict"), "accepted");
	snprintf(args, sizeof(args), "%s/policy.json", dumps_dir);
	f = fopen(args, "w");
	ck_assert_ptr_nonnull(f);
	fputs(policy, f);
	fclose(f);
	{
		char a2[2600];

		snprintf(a2, sizeof(a2), "policy check --host-dump '%s' --json '%s'", dump_eraps, args);
		o = hvctl_json(a2);
	}
	ck_assert_msg(json_object_equal(p, o), "Validate and hvctl policy check differ");
	json_object_put(o);
	json_object_put(p);

	/* Rejected: the reply is still the evaluation, with problems. */
	p = ok("io.hvcap.Policy.Validate", "{\"policy\": {\"features\": {\"no-such-feature\": \"require\"}}}");
	ck_assert_str_eq(get_str(p, "verdict"), "rejected");
	ck_assert_int_ge(json_object_array_length(get(p, "problems")), 1);
	json_object_put(p);
	p = ok("io.hvcap.Policy.Validate", "{\"policy\": {\"features\": {\"sse4.1\": \"require\"}}, \"names\": \"qemu\"}");
	ck_assert_str_eq(get_str(p, "verdict"), "accepted");
	json_object_put(p);

	/* Errors name the parameter. */
	fails_param("io.hvcap.Policy.Validate", "{\"policy\": {\"vcpus\": \"two\"}}", "policy.vcpus");
	fails_param("io.hvcap.Policy.Validate", "{\"policy\": {\"vcpus\": 0}}", "policy.vcpus");
	fails_param("io.hvcap.Policy.Validate", "{\"policy\": {\"base\": \"everything\"}}", "policy.base");
	fails_param("io.hvcap.Policy.Validate", "{\"policy\": {\"features\": {\"avx2\": \"maybe\"}}}",
		    "policy.features.avx2");
	fails_param("io.hvcap.Policy.Validate", "{\"policy\": {}, \"names\": \"klingon\"}", "names");
	fails_param("io.hvcap.Policy.Validate", "{}", "policy");

	/* Compare: the same host given as dump text gives the same evaluation as Validate. */
	ck_assert_int_eq(caps_read_file(dump_eraps, 1 << 20, &dump_text, &len), 0);
	p = json_object_new_object();
	json_object_object_add(p, "policy", json_tokener_parse(policy));
	json_object_object_add(p, "dump", json_object_new_string(dump_text));
	snprintf(params, sizeof(params), "%s", json_object_to_json_string(p));
	json_object_put(p);
	p = ok("io.hvcap.Policy.Compare", params);
	{
		char v[4096];

		snprintf(v, sizeof(v), "{\"policy\": %s}", policy);
		o = ok("io.hvcap.Policy.Validate", v);
	}
	ck_assert_msg(json_object_equal(p, o), "Compare and Validate differ on the same host");
	json_object_put(o);
	json_object_put(p);

	/* Compare with a kernel that predates ERAPS: optional eraps is gone from the guest. */
	p = json_object_new_object();
	json_object_object_add(p, "policy", json_tokener_parse("{\"features\": {\"eraps\": \"require\"}}"));
	json_object_object_add(p, "dump", json_object_new_string(dump_text));
	json_object_object_add(p, "params", json_tokener_parse("{\"kernel\": \"6.18\"}"));
	snprintf(params, sizeof(params), "%s", json_object_to_json_string(p));
	json_object_put(p);
	p = ok("io.hvcap.Policy.Compare", params);
	ck_assert_str_eq(get_str(p, "verdict"), "rejected");
	json_object_put(p);

	e = fails_p("io.hvcap.Policy.Compare", "{\"policy\": {}, \"dump\": \"<cpudata><cpuid\"}", "io.hvcap.Policy.InvalidDump");
	ck_assert(strlen(get_str(e, "reason")) > 0);
	json_object_put(e);
	p = json_object_new_object();
	json_object_object_add(p, "policy", json_object_new_object());
	json_object_object_add(p, "dump", json_object_new_string(dump_text));
	json_object_object_add(p, "params", json_tokener_parse("{\"warp_drive\": \"on\"}"));
	snprintf(params, sizeof(params), "%s", json_object_to_json_string(p));
	json_object_put(p);
	e = fails_p("io.hvcap.Policy.Compare", params, "io.hvcap.Policy.InvalidHostParameter");
	ck_assert_str_eq(get_str(e, "parameter"), "warp_drive");
	json_object_put(e);
	fails_param("io.hvcap.Policy.Compare", "{\"policy\": {}, \"dump\": 7}", "dump");
	free(dump_text);
}
END_TEST

/* ------------------------------------------------------------------ */
/* io.hvcap.Vm: the registry. */

START_TEST(test_vm_create_list_get_delete)
{
	struct json_object *p, *v, *vms;
	char name[80], params[256];
	uint32_t a, b;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	a = create("web-1", "{\"name\": \"web\", \"vcpus\": 3, \"features\": {\"avx2\": \"require\"}}");
	b = create("db_2.x", "{}");
	ck_assert_uint_ne(a, b);

	p = ok("io.hvcap.Vm.List", NULL);
	vms = get(p, "vms");
	ck_assert_uint_eq(json_object_array_length(vms), 2);
	ck_assert_int_eq(get_int(json_object_array_get_idx(vms, 0), "vm"), a);
	ck_assert_str_eq(get_str(json_object_array_get_idx(vms, 0), "name"), "web-1");
	ck_assert_int_eq(get_int(json_object_array_get_idx(vms, 0), "vcpus"), 3);
	json_object_put(p);

	v = vm_info(a);
	ck_assert_str_eq(get_str(v, "name"), "web-1");
	ck_assert_str_eq(get_str(v, "policy_name"), "web");
	ck_assert_uint_eq(json_object_array_length(get(v, "vcpus")), 3);
	for (uint32_t i = 0; i < 3; i++) {
		struct json_object *c = vcpu_info(v, i);
		struct json_object *f = get(c, "features");
		bool avx2 = false;

		ck_assert(!get_bool(c, "cpuid_frozen"));
		ck_assert_int_gt(get_int(c, "cpuid_entries"), 0);
		ck_assert_str_eq(get_str(c, "apic_mode"), "xapic");
		for (size_t k = 0; k < json_object_array_length(f); k++)
			avx2 |= strcmp(json_object_get_string(json_object_array_get_idx(f, k)), "avx2") == 0;
		ck_assert(avx2);
	}
	json_object_put(v);

	/* Duplicate names, the charset and the length: 64 bytes pass, 65 do not. */
	p = fails_p("io.hvcap.Vm.Create", "{\"name\": \"web-1\", \"policy\": {}}", "io.hvcap.Vm.VmExists");
	ck_assert_str_eq(get_str(p, "name"), "web-1");
	json_object_put(p);
	fails_param("io.hvcap.Vm.Create", "{\"name\": \"a b\", \"policy\": {}}", "name");
	fails_param("io.hvcap.Vm.Create", "{\"name\": \"caf\\u00e9\", \"policy\": {}}", "name");
	fails_param("io.hvcap.Vm.Create", "{\"name\": \"a/b\", \"policy\": {}}", "name");
	fails_param("io.hvcap.Vm.Create", "{\"name\": \"\", \"policy\": {}}", "name");
	fails_param("io.hvcap.Vm.Create", "{\"name\": 5, \"policy\": {}}", "name");
	memset(name, 'n', 64);
	name[64] = '\0';
	create(name, "{}");
	name[64] = 'n';
	name[65] = '\0';
	snprintf(params, sizeof(params), "{\"name\": \"%s\", \"policy\": {}}", name);
	fails_param("io.hvcap.Vm.Create", params, "name");

	/* Policies: decoded strictly, evaluated, rejected ones refused with their problems. */
	fails_param("io.hvcap.Vm.Create", "{\"name\": \"x\", \"policy\": {\"vcpus\": -1}}", "policy.vcpus");
	fails_param("io.hvcap.Vm.Create", "{\"name\": \"x\", \"policy\": {\"colour\": \"red\"}}", "policy.colour");
	fails_param("io.hvcap.Vm.Create", "{\"name\": \"x\", \"policy\": []}", "policy");
	p = fails_p("io.hvcap.Vm.Create", "{\"name\": \"x\", \"policy\": {\"features\": {\"vmx\": \"require\"}}}",
		  "io.hvcap.Vm.PolicyRejected");
	ck_assert_int_ge(json_object_array_length(get(p, "problems")), 1);
	ck_assert_str_eq(get_str(json_object_array_get_idx(get(p, "problems"), 0), "feature"), "vmx");
	json_object_put(p);

	/* Ids: unknown ones are NoSuchVm, ones out of range or of the wrong type InvalidParameter. */
	p = fails_p("io.hvcap.Vm.Get", "{\"vm\": 999}", "io.hvcap.Vm.NoSuchVm");
	ck_assert_int_eq(get_int(p, "vm"), 999);
	json_object_put(p);
	fails("io.hvcap.Vm.Get", "{\"vm\": 0}", "io.hvcap.Vm.NoSuchVm");
	fails_param("io.hvcap.Vm.Get", "{\"vm\": -1}", "vm");
	fails_param("io.hvcap.Vm.Get", "{\"vm\": 4294967296}", "vm");
	fails_param("io.hvcap.Vm.Get", "{\"vm\": \"1\"}", "vm");
	fails_param("io.hvcap.Vm.Get", "{\"vm\": 1.5}", "vm");
	fails_param("io.hvcap.Vm.Get", "{}", "vm");
	fails_param("io.hvcap.Vm.Get", "{\"vm\": 1, \"extra\": true}", "extra");

	snprintf(params, sizeof(params), "{\"vm\": %u}", a);
	p = ok("io.hvcap.Vm.Delete", params);
	json_object_put(p);
	fails("io.hvcap.Vm.Delete", params, "io.hvcap.Vm.NoSuchVm");
	fails("io.hvcap.Vm.Get", params, "io.hvcap.Vm.NoSuchVm");
	/* The name is free again; the id is not given out again. */
	ck_assert_uint_gt(create("web-1", "{}"), b);
}
END_TEST

static void write_config(const char *text)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/hvcapd.conf", dumps_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_vm_limits_from_config)
{
	char conf[400], params[256];
	uint32_t a;
	int r;

	setup_dumps();
	write_config("max_vms = 2\nmax_vcpus_per_vm = 4\n");
	snprintf(conf, sizeof(conf), "%s/hvcapd.conf", dumps_dir);
	r = daemon_start(false, "--host", "model", "--host-dump", dump_eraps, "--config", conf, NULL);
	ck_assert_int_eq(r, 0);

	/* vCPUs: 4 at the limit, 5 past it. */
	fails_limit("io.hvcap.Vm.Create", "{\"name\": \"big\", \"policy\": {\"vcpus\": 5}}", "max_vcpus_per_vm", 4);
	a = create("four", "{\"vcpus\": 4}");
	snprintf(params, sizeof(params), "{\"vm\": %u}", a);
	fails_limit("io.hvcap.Vm.AddVcpu", params, "max_vcpus_per_vm", 4);
	/* VMs: 2 at the limit, a third past it. */
	create("two", "{\"vcpus\": 3}");
	fails_limit("io.hvcap.Vm.Create", "{\"name\": \"three\", \"policy\": {}}", "max_vms", 2);
	json_object_put(ok("io.hvcap.Vm.AddVcpu", "{\"vm\": 2}"));
	fails_limit("io.hvcap.Vm.AddVcpu", "{\"vm\": 2}", "max_vcpus_per_vm", 4);
	json_object_put(ok("io.hvcap.Vm.Delete", params));
	create("three", "{}");
}
END_TEST

/* ------------------------------------------------------------------ */
/* vCPUs: hot-plug and KVM_SET_CPUID2. */

/* SetCpuid parameters with n copies of entry e (JSON text). */
static char *cpuid_params(uint32_t vm, uint32_t vcpu, size_t n, const char *e)
{
	size_t size = 64 + n * (strlen(e) + 2);
	char *s = malloc(size);
	size_t at;

	ck_assert_ptr_nonnull(s);
	at = (size_t)snprintf(s, size, "{\"vm\": %u, \"vcpu\": %u, \"entries\": [", vm, vcpu);
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(s + at, size - at, "%s%s", i ? "," : "", e);
	snprintf(s + at, size - at, "]}");
	return s;
}

START_TEST(test_vcpu_add_and_set_cpuid)
{
	struct json_object *p, *v;
	char *params, entry[160];
	uint32_t vm;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	vm = create("v", "{\"vcpus\": 2}");

	/* AddVcpu: the lowest free id, or the one asked for. */
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.AddVcpu", vm, 5, "", "vcpu"), 5);
	p = ok("io.hvcap.Vm.AddVcpu", "{\"vm\": 1}");
	ck_assert_int_eq(get_int(p, "vcpu"), 2);
	json_object_put(p);
	p = ok("io.hvcap.Vm.AddVcpu", "{\"vm\": 1, \"vcpu\": null}");
	ck_assert_int_eq(get_int(p, "vcpu"), 3);
	json_object_put(p);
	p = fails_p("io.hvcap.Vm.AddVcpu", "{\"vm\": 1, \"vcpu\": 5}", "io.hvcap.Vm.VcpuExists");
	ck_assert_int_eq(get_int(p, "vcpu"), 5);
	json_object_put(p);
	fails("io.hvcap.Vm.AddVcpu", "{\"vm\": 7, \"vcpu\": 5}", "io.hvcap.Vm.NoSuchVm");
	json_object_put(ok("io.hvcap.Vm.AddVcpu", "{\"vm\": 1, \"vcpu\": 16383}"));
	fails_param("io.hvcap.Vm.AddVcpu", "{\"vm\": 1, \"vcpu\": 16384}", "vcpu");
	fails_param("io.hvcap.Vm.AddVcpu", "{\"vm\": 1, \"vcpu\": -1}", "vcpu");
	v = vm_info(vm);
	ck_assert_uint_eq(json_object_array_length(get(v, "vcpus")), 6);
	/* A hot-plugged vCPU gets the VM's guest CPUID. */
	ck_assert_int_eq(get_int(vcpu_info(v, 5), "cpuid_entries"), get_int(vcpu_info(v, 0), "cpuid_entries"));
	json_object_put(v);

	/* SetCpuid: 256 entries pass the count (and then KVM's checks), 257 are refused before decoding. */
	snprintf(entry, sizeof(entry),
		 "{\"function\": 1, \"index\": 0, \"flags\": 0, \"eax\": 0, \"ebx\": 0, \"ecx\": 0, \"edx\": 0}");
	params = cpuid_params(vm, 0, 256, entry);
	p = call("io.hvcap.Vm.SetCpuid", params).parameters;
	json_object_put(p);
	free(params);
	params = cpuid_params(vm, 0, 257, entry);
	p = fails_p("io.hvcap.Vm.SetCpuid", params, "io.hvcap.Vm.TooManyEntries");
	ck_assert_int_eq(get_int(p, "entries"), 257);
	ck_assert_int_eq(get_int(p, "max"), 256);
	json_object_put(p);
	free(params);

	/* KVM's kvm_check_cpuid(): 50 linear address bits are InvalidCpuid, nothing changes. */
	v = vm_info(vm);
	params = cpuid_params(vm, 0, 1,
			      "{\"function\": 2147483656, \"index\": 0, \"flags\": 0, \"eax\": 12848, \"ebx\": 0, \"ecx\": 0, \"edx\": 0}");
	p = fails_p("io.hvcap.Vm.SetCpuid", params, "io.hvcap.Vm.InvalidCpuid");
	ck_assert(strstr(get_str(p, "reason"), "linear address") != NULL);
	json_object_put(p);
	free(params);
	{
		struct json_object *w = vm_info(vm);

		ck_assert(json_object_equal(v, w));
		json_object_put(w);
	}
	json_object_put(v);

	/* Entries are decoded strictly: types, ranges, unknown keys, the path named. */
	params = cpuid_params(vm, 0, 1, "{\"function\": 1, \"index\": 0, \"flags\": 0, \"eax\": \"1\", \"ebx\": 0, \"ecx\": 0, \"edx\": 0}");
	fails_param("io.hvcap.Vm.SetCpuid", params, "entries[0].eax");
	free(params);
	params = cpuid_params(vm, 0, 2, "{\"function\": 1, \"index\": 0, \"flags\": 0, \"eax\": 4294967296, \"ebx\": 0, \"ecx\": 0, \"edx\": 0}");
	fails_param("io.hvcap.Vm.SetCpuid", params, "entries[0].eax");
	free(params);
	params = cpuid_params(vm, 0, 1, "{\"function\": -1, \"index\": 0, \"flags\": 0, \"eax\": 0, \"ebx\": 0, \"ecx\": 0, \"edx\": 0}");
	fails_param("io.hvcap.Vm.SetCpuid", params, "entries[0].function");
	free(params);
	fails("io.hvcap.Vm.SetCpuid", "{\"vm\": 1, \"vcpu\": 9, \"entries\": []}", "io.hvcap.Vm.NoSuchVcpu");
	fails("io.hvcap.Vm.SetCpuid", "{\"vm\": 9, \"vcpu\": 0, \"entries\": []}", "io.hvcap.Vm.NoSuchVm");
	fails_param("io.hvcap.Vm.SetCpuid", "{\"vm\": 1, \"vcpu\": 0, \"entries\": {}}", "entries");

	/* Before the first run anything valid goes; after it only the identical CPUID. */
	json_object_put(ok("io.hvcap.Vm.SetCpuid", "{\"vm\": 1, \"vcpu\": 1, \"entries\": []}"));
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.Run", vm, 2, "", "erap_ctl") >= 0, 1);
	v = vm_info(vm);
	ck_assert(get_bool(vcpu_info(v, 2), "cpuid_frozen"));
	json_object_put(v);
	p = fails_p("io.hvcap.Vm.SetCpuid", "{\"vm\": 1, \"vcpu\": 2, \"entries\": []}", "io.hvcap.Vm.CpuidFrozen");
	ck_assert_int_eq(get_int(p, "vm"), 1);
	ck_assert_int_eq(get_int(p, "vcpu"), 2);
	json_object_put(p);
}
END_TEST

/* After Run, setting the very same CPUID (KVM_GET_CPUID2's) again is accepted. */
START_TEST(test_vcpu_identical_cpuid_after_run)
{
	struct json_object *entries, *p;
	char path[400], *text = NULL;
	size_t len;
	uint32_t vm;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	vm = create("v", "{}");
	json_object_put(vcpu_call("io.hvcap.Vm.Run", vm, 0, ""));
	/* The vCPU's CPUID is in its state file. */
	snprintf(path, sizeof(path), "%s/vms/%u.json", td.state, vm);
	ck_assert_int_eq(caps_read_file(path, 1 << 24, &text, &len), 0);
	p = json_tokener_parse(text);
	free(text);
	ck_assert_ptr_nonnull(p);
	entries = get(json_object_array_get_idx(get(p, "vcpus"), 0), "cpuid");
	{
		struct json_object *params = json_object_new_object();
		char *s;

		json_object_object_add(params, "vm", json_object_new_int64(vm));
		json_object_object_add(params, "vcpu", json_object_new_int(0));
		json_object_object_add(params, "entries", json_object_get(entries));
		s = strdup(json_object_to_json_string(params));
		json_object_put(params);
		json_object_put(ok("io.hvcap.Vm.SetCpuid", s));
		free(s);
	}
	json_object_put(p);
}
END_TEST

/* ------------------------------------------------------------------ */
/* APIC base and the APIC access memslot. */

static struct proto_client *watch_open(void)
{
	struct proto_client *w = NULL;
	struct proto_reply r;

	ck_assert_int_eq(proto_client_connect(td.address, &w), 0);
	proto_client_set_timeout(w, 20000);
	ck_assert_int_eq(proto_client_call(w, "io.hvcap.Vm.Watch", NULL, PROTO_CALL_MORE, &r), 0);
	ck_assert_msg(!r.error[0], "Watch: %s", r.error);
	ck_assert(r.continues);
	ck_assert_str_eq(get_str(r.parameters, "event"), "watching");
	proto_reply_done(&r);
	return w;
}

/* The next event on a watch stream (a new reference). */
static struct json_object *watch_next(struct proto_client *w)
{
	struct proto_reply r;
	struct json_object *p;

	ck_assert_int_eq(proto_client_recv(w, &r), 0);
	ck_assert_msg(!r.error[0], "Watch: %s", r.error);
	ck_assert(r.continues);
	p = json_object_get(r.parameters);
	proto_reply_done(&r);
	return p;
}

static void watch_expect(struct proto_client *w, const char *event, int64_t vm)
{
	struct json_object *e = watch_next(w);

	ck_assert_msg(strcmp(get_str(e, "event"), event) == 0, "expected %s, got %s", event,
		      json_object_to_json_string(e));
	if (vm >= 0)
		ck_assert_int_eq(get_int(e, "vm"), vm);
	json_object_put(e);
}

#define X2APIC_BASE "\"0xfee00d00\""	/* EN | EXTD | BSP */
#define XAPIC_BASE "\"0xfee00900\""	/* EN | BSP */

START_TEST(test_apic_base_hybrid_avic_inhibits_memslot_for_good)
{
	struct proto_client *w;
	struct json_object *p, *v;
	uint32_t vm, other;

	setup_dumps();
	start_model(false, dump_hybrid, "--param", hybrid_param, NULL);
	w = watch_open();
	vm = create("hy", "{\"vcpus\": 2, \"apic\": \"x2apic\"}");
	watch_expect(w, "vm_created", vm);
	other = create("other", "{}");
	watch_expect(w, "vm_created", other);
	v = vm_info(vm);
	ck_assert(get_bool(v, "hybrid_avic"));
	ck_assert_str_eq(get_str(v, "apic_access_memslot"), "enabled");
	json_object_put(v);

	/* The guest's xAPIC -> x2APIC switch deletes the memslot. */
	p = vcpu_call("io.hvcap.Vm.SetApicBase", vm, 0, ", \"value\": " X2APIC_BASE);
	ck_assert_str_eq(get_str(p, "apic_mode"), "x2apic");
	ck_assert_str_eq(get_str(p, "apic_access_memslot"), "inhibited");
	json_object_put(p);
	watch_expect(w, "memslot_inhibited", vm);

	/* For good: back to xAPIC (host-initiated), the other vCPU, a hot-plugged one. */
	p = vcpu_call("io.hvcap.Vm.SetApicBase", vm, 0, ", \"value\": " XAPIC_BASE ", \"host_initiated\": true");
	ck_assert_str_eq(get_str(p, "apic_mode"), "xapic");
	ck_assert_str_eq(get_str(p, "apic_access_memslot"), "inhibited");
	json_object_put(p);
	p = vcpu_call("io.hvcap.Vm.SetApicBase", vm, 1, ", \"value\": \"0xfee00c00\"");
	ck_assert_str_eq(get_str(p, "apic_access_memslot"), "inhibited");
	json_object_put(p);
	json_object_put(ok("io.hvcap.Vm.AddVcpu", "{\"vm\": 1}"));
	v = vm_info(vm);
	ck_assert_str_eq(get_str(v, "apic_access_memslot"), "inhibited");
	ck_assert_uint_eq(json_object_array_length(get(v, "vcpus")), 3);
	json_object_put(v);
	/* The other VM keeps its memslot. */
	v = vm_info(other);
	ck_assert_str_eq(get_str(v, "apic_access_memslot"), "enabled");
	json_object_put(v);

	/* Only once: the next event is the deletion, not a second inhibition. */
	json_object_put(ok("io.hvcap.Vm.Delete", "{\"vm\": 2}"));
	watch_expect(w, "vm_deleted", other);

	/* After a restart too. */
	restart_model(dump_hybrid, "--param", hybrid_param, NULL);
	v = vm_info(vm);
	ck_assert_str_eq(get_str(v, "apic_access_memslot"), "inhibited");
	json_object_put(v);
	json_object_put(ok("io.hvcap.Vm.AddVcpu", "{\"vm\": 1}"));
	v = vm_info(vm);
	ck_assert_str_eq(get_str(v, "apic_access_memslot"), "inhibited");
	json_object_put(v);
	proto_client_free(w);
}
END_TEST

START_TEST(test_apic_base_errors)
{
	struct json_object *p;
	uint32_t vm;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	vm = create("a", "{\"apic\": \"x2apic\"}");
	/* Reserved bits, and the invalid mode: InvalidApicBase naming the value. */
	p = fails_p("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": \"0xfee00901\"}",
		  "io.hvcap.Vm.InvalidApicBase");
	ck_assert_str_eq(get_str(p, "value"), "0xfee00901");
	json_object_put(p);
	fails("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": \"0xfee00400\"}",
	      "io.hvcap.Vm.InvalidApicBase");
	/* A guest may not go x2APIC -> xAPIC. */
	json_object_put(vcpu_call("io.hvcap.Vm.SetApicBase", vm, 0, ", \"value\": " X2APIC_BASE));
	fails("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": " XAPIC_BASE "}",
	      "io.hvcap.Vm.InvalidApicBase");
	fails("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": " XAPIC_BASE ", \"host_initiated\": false}",
	      "io.hvcap.Vm.InvalidApicBase");
	/* 64-bit values are "0x" strings, strictly. */
	fails_param("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": \"fee00900\"}", "value");
	fails_param("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": \"0x\"}", "value");
	fails_param("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": \"0xfee0g900\"}", "value");
	fails_param("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": \"0x1fee00900fee00900\"}", "value");
	fails_param("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": 4276095232}", "value");
	fails_param("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": \" 0x1\"}", "value");
	fails_param("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 0, \"value\": \"0x1\", \"host_initiated\": 1}",
		    "host_initiated");
	fails("io.hvcap.Vm.SetApicBase", "{\"vm\": 1, \"vcpu\": 3, \"value\": \"0x0\"}", "io.hvcap.Vm.NoSuchVcpu");
	fails_param("io.hvcap.Vm.WriteCr3", "{\"vm\": 1, \"vcpu\": 0, \"cr3\": \"0x10000000000000000\"}", "cr3");
	fails_param("io.hvcap.Vm.WriteCr3", "{\"vm\": 1, \"vcpu\": 0, \"cr3\": \"-0x1\"}", "cr3");
}
END_TEST

/* ------------------------------------------------------------------ */
/* ERAPS: Run, WriteCr3, NestedRun, NestedExit. */

START_TEST(test_eraps_run_and_nested_bytes)
{
	struct json_object *p, *v;
	uint32_t vm, plain;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	vm = create("e", "{\"features\": {\"eraps\": \"require\", \"svm\": \"require\"}}");

	/* RESET left the RAP dirty: the first VMRUN flushes it, and KVM clears CLEAR_RAP after. */
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.Run", vm, 0, "", "erap_ctl"), 2);
	v = vm_info(vm);
	ck_assert_int_eq(get_int(vcpu_info(v, 0), "erap_ctl"), 0);
	ck_assert(!get_bool(vcpu_info(v, 0), "rap_dirty"));
	json_object_put(v);
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.Run", vm, 0, "", "erap_ctl"), 0);

	/* A CR3 write is legal and dirties the RAP: the next VMRUN flushes. */
	p = vcpu_call("io.hvcap.Vm.WriteCr3", vm, 0, ", \"cr3\": \"0x1000\"");
	ck_assert(get_bool(p, "legal"));
	ck_assert(get_bool(p, "rap_dirty"));
	ck_assert_uint_eq(json_object_array_length(get(p, "lam_bits")), 0);
	json_object_put(p);
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.Run", vm, 0, "", "erap_ctl"), 2);
	/* LAM bits without LAM: #GP, nothing changes. */
	p = vcpu_call("io.hvcap.Vm.WriteCr3", vm, 0, ", \"cr3\": \"0x4000000000001000\"");
	ck_assert(!get_bool(p, "legal"));
	ck_assert(!get_bool(p, "rap_dirty"));
	json_object_put(p);
	v = vm_info(vm);
	ck_assert_str_eq(get_str(vcpu_info(v, 0), "cr3"), "0x1000");
	json_object_put(v);

	/* Nested: InvalidState outside L2, vmcb02 = (vmcb12 & ALLOW_LARGER_RAP) | CLEAR_RAP. */
	p = fails_p("io.hvcap.Vm.NestedExit", "{\"vm\": 1, \"vcpu\": 0}", "io.hvcap.Vm.InvalidState");
	ck_assert(strlen(get_str(p, "reason")) > 0);
	json_object_put(p);
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.NestedRun", vm, 0, ", \"vmcb12_erap_ctl\": 1", "vmcb02_erap_ctl"), 3);
	v = vm_info(vm);
	ck_assert(get_bool(vcpu_info(v, 0), "guest_mode"));
	ck_assert_int_eq(get_int(vcpu_info(v, 0), "vmcb02_erap_ctl"), 3);
	json_object_put(v);
	fails("io.hvcap.Vm.NestedRun", "{\"vm\": 1, \"vcpu\": 0}", "io.hvcap.Vm.InvalidState");
	/* The nested #VMEXIT sets CLEAR_RAP for L1's next run, which then clears it. */
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.NestedExit", vm, 0, "", "vmcb01_erap_ctl"), 2);
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.Run", vm, 0, "", "erap_ctl"), 2);
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.Run", vm, 0, "", "erap_ctl"), 0);
	/* vmcb12 without ALLOW_LARGER_RAP; an absent one counts as 0. */
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.NestedRun", vm, 0, "", "vmcb02_erap_ctl"), 2);
	fails_param("io.hvcap.Vm.NestedRun", "{\"vm\": 1, \"vcpu\": 0, \"vmcb12_erap_ctl\": 256}", "vmcb12_erap_ctl");
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.NestedExit", vm, 0, "", "vmcb01_erap_ctl"), 2);

	/* Without SVM in the guest there is no nested run; without ERAPS no bits. */
	plain = create("plain", "{\"features\": {\"avx2\": \"require\"}}");
	fails("io.hvcap.Vm.NestedRun", "{\"vm\": 2, \"vcpu\": 0}", "io.hvcap.Vm.InvalidState");
	ck_assert_int_eq(vcpu_call_int("io.hvcap.Vm.Run", plain, 0, "", "erap_ctl"), 0);
	fails("io.hvcap.Vm.Run", "{\"vm\": 2, \"vcpu\": 1}", "io.hvcap.Vm.NoSuchVcpu");
	fails("io.hvcap.Vm.Run", "{\"vm\": 3, \"vcpu\": 0}", "io.hvcap.Vm.NoSuchVm");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Persistence. */

/* Every VM's Get, by List, as one JSON text (malloc()ed). */
static char *snapshot(void)
{
	struct json_object *p = ok("io.hvcap.Vm.List", NULL), *all = json_object_new_array();
	struct json_object *vms = get(p, "vms");
	char *s;

	for (size_t i = 0; i < json_object_array_length(vms); i++)
		json_object_array_add(all, vm_info((uint32_t)get_int(json_object_array_get_idx(vms, i), "vm")));
	s = strdup(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN));
	json_object_put(all);
	json_object_put(p);
	return s;
}

START_TEST(test_state_restart_restores_every_vm)
{
	char *before, *after;
	uint32_t a, b;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	a = create("alpha", "{\"name\": \"p\", \"vcpus\": 3, \"apic\": \"x2apic\", \"features\": "
			    "{\"eraps\": \"require\", \"svm\": \"require\", \"avx2\": \"optional\"}}");
	b = create("beta", "{}");
	json_object_put(vcpu_call("io.hvcap.Vm.SetApicBase", a, 1, ", \"value\": " X2APIC_BASE));
	json_object_put(vcpu_call("io.hvcap.Vm.WriteCr3", a, 0, ", \"cr3\": \"0x5000\""));
	json_object_put(vcpu_call("io.hvcap.Vm.Run", a, 0, ""));
	json_object_put(vcpu_call("io.hvcap.Vm.NestedRun", a, 0, ", \"vmcb12_erap_ctl\": 1"));
	json_object_put(vcpu_call("io.hvcap.Vm.WriteCr3", a, 2, ", \"cr3\": \"0x7000\""));
	json_object_put(vcpu_call("io.hvcap.Vm.AddVcpu", a, 9, ""));
	json_object_put(ok("io.hvcap.Vm.SetCpuid", "{\"vm\": 2, \"vcpu\": 0, \"entries\": []}"));
	(void)b;
	before = snapshot();
	restart_model(dump_eraps, NULL);
	after = snapshot();
	ck_assert_str_eq(before, after);
	/* Frozen stays frozen, L2 stays L2. */
	fails("io.hvcap.Vm.SetCpuid", "{\"vm\": 1, \"vcpu\": 0, \"entries\": []}", "io.hvcap.Vm.CpuidFrozen");
	fails("io.hvcap.Vm.NestedRun", "{\"vm\": 1, \"vcpu\": 0}", "io.hvcap.Vm.InvalidState");
	/* Ids are not given out again, even the highest one after its deletion. */
	json_object_put(ok("io.hvcap.Vm.Delete", "{\"vm\": 2}"));
	restart_model(dump_eraps, NULL);
	ck_assert_uint_eq(create("gamma", "{}"), 3);
	free(before);
	free(after);
}
END_TEST

START_TEST(test_state_corrupt_file_stops_start)
{
	static const char *const corruptions[] = {
		"{\"version\": 1, \"vm\": 1",				/* cut short */
		"{\"version\": 2, \"vm\": 1}",				/* unknown version */
		"not json",
	};
	char path[400], *good = NULL, *text = NULL, log[8192];
	size_t len, glen;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	create("keep", "{}");
	create("broken", "{\"vcpus\": 2}");
	proto_client_free(cl);
	cl = NULL;
	ck_assert_int_eq(test_daemon_stop(&td, SIGTERM), 0);
	snprintf(path, sizeof(path), "%s/vms/2.json", td.state);
	ck_assert_int_eq(caps_read_file(path, 1 << 24, &good, &glen), 0);

	for (size_t i = 0; i <= ARRAY_SIZE(corruptions); i++) {
		FILE *f = fopen(path, "w");
		const char *bad;
		char want[600];
		int fd;
		ssize_t n;

		/* The last row: a valid document whose vCPU has an impossible erap_ctl. */
		if (i == ARRAY_SIZE(corruptions)) {
			char *p = strstr(good, "\"erap_ctl\":0");

			ck_assert_ptr_nonnull(p);
			p[strlen("\"erap_ctl\":")] = '9';
			bad = good;
		} else {
			bad = corruptions[i];
		}
		ck_assert_ptr_nonnull(f);
		fputs(bad, f);
		fclose(f);
		ck_assert_int_eq(start_expect_failure(dump_eraps, NULL), 1);
		/* The file is named, and left as it was. */
		fd = open(td.log, O_RDONLY);
		n = read(fd, log, sizeof(log) - 1);
		close(fd);
		log[n > 0 ? n : 0] = '\0';
		snprintf(want, sizeof(want), "%s:", path);
		ck_assert_msg(strstr(log, want), "the log does not name %s: %s", path, log);
		ck_assert_int_eq(caps_read_file(path, 1 << 24, &text, &len), 0);
		ck_assert_str_eq(text, bad);
		free(text);
	}
	free(good);
}
END_TEST

/*
 * A client mutating in a loop while the daemon is SIGKILLed at random
 * moments: after every restart each acknowledged mutation is there (the
 * one in flight may or may not be), and no state file is ever half
 * written.  Each step: Create "k<iter>-<t>", WriteCr3 on it, Delete the
 * VM of the step before.
 */
#define KILL_ITERATIONS 60
#define MAX_TRACKED 1024

struct tracked {
	char name[32];
	uint32_t id;
	uint64_t cr3;
	bool exists;
};

static struct tracked model[MAX_TRACKED];
static size_t n_model;

static struct tracked *tracked(const char *name)
{
	for (size_t i = 0; i < n_model; i++)
		if (strcmp(model[i].name, name) == 0)
			return &model[i];
	ck_assert_uint_lt(n_model, MAX_TRACKED);
	snprintf(model[n_model].name, sizeof(model[0].name), "%s", name);
	return &model[n_model++];
}

/* The mutator: one op after another, "<op> <name> <id> <cr3>\n" to fd after each acknowledgement. */
static void mutator(int iter, int fd)
{
	struct proto_client *c = NULL;
	uint32_t prev = 0;

	if (proto_client_connect(td.address, &c) < 0)
		_exit(0);
	proto_client_set_timeout(c, 5000);
	for (int t = 0;; t++) {
		struct json_object *p = json_object_new_object();
		struct proto_reply r;
		char name[32], line[128];
		uint32_t id;
		uint64_t cr3 = 0x1000ull * (uint64_t)(t + 1);

		snprintf(name, sizeof(name), "k%d-%d", iter, t);
		json_object_object_add(p, "name", json_object_new_string(name));
		json_object_object_add(p, "policy", json_object_new_object());
		if (proto_client_call(c, "io.hvcap.Vm.Create", p, 0, &r) < 0 || r.error[0])
			_exit(0);
		json_object_put(p);
		id = (uint32_t)json_object_get_int64(json_object_object_get(r.parameters, "vm"));
		proto_reply_done(&r);
		snprintf(line, sizeof(line), "C %s %u 0\n", name, id);
		if (write(fd, line, strlen(line)) < 0)
			_exit(1);

		p = json_object_new_object();
		json_object_object_add(p, "vm", json_object_new_int64(id));
		json_object_object_add(p, "vcpu", json_object_new_int(0));
		snprintf(line, sizeof(line), "0x%" PRIx64, cr3);
		json_object_object_add(p, "cr3", json_object_new_string(line));
		if (proto_client_call(c, "io.hvcap.Vm.WriteCr3", p, 0, &r) < 0 || r.error[0])
			_exit(0);
		json_object_put(p);
		proto_reply_done(&r);
		snprintf(line, sizeof(line), "W %s %u %" PRIu64 "\n", name, id, cr3);
		if (write(fd, line, strlen(line)) < 0)
			_exit(1);

		if (prev) {
			p = json_object_new_object();
			json_object_object_add(p, "vm", json_object_new_int64(prev));
			if (proto_client_call(c, "io.hvcap.Vm.Delete", p, 0, &r) < 0 || r.error[0])
				_exit(0);
			json_object_put(p);
			proto_reply_done(&r);
			snprintf(line, sizeof(line), "D k%d-%d %u 0\n", iter, t - 1, prev);
			if (write(fd, line, strlen(line)) < 0)
				_exit(1);
		}
		prev = id;
	}
}

/* Every "<id>.json" in the state directory is a whole JSON document; returns the temporary files seen. */
static unsigned check_state_files(void)
{
	char dir[400];
	struct dirent *de;
	unsigned tmp = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/vms", td.state);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char path[700], *text = NULL;
		struct json_object *o;
		size_t len;

		if (de->d_name[0] == '.') {
			tmp += strstr(de->d_name, ".tmp") != NULL;
			continue;
		}
		if (!strstr(de->d_name, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ck_assert_int_eq(caps_read_file(path, 1 << 24, &text, &len), 0);
		o = json_tokener_parse(text);
		ck_assert_msg(o != NULL, "%s is not a whole JSON document (%zu bytes)", path, len);
		json_object_put(o);
		free(text);
	}
	closedir(d);
	return tmp;
}

START_TEST(test_state_sigkill_loop_keeps_acknowledged_mutations)
{
	unsigned acked = 0, inflight_applied = 0, tmp_files = 0;
	struct timespec seed;

	clock_gettime(CLOCK_MONOTONIC, &seed);
	srand((unsigned)seed.tv_nsec);
	setup_dumps();
	start_model(false, dump_eraps, NULL);

	for (int iter = 0; iter < KILL_ITERATIONS; iter++) {
		char buf[1 << 16], op, name[32], inflight_delete[32], inflight_write[32];
		struct json_object *p, *vms;
		int fds[2], status, r;
		uint32_t id;
		uint64_t cr3;
		size_t len = 0;
		ssize_t n;
		pid_t child;
		FILE *f;

		ck_assert_int_eq(pipe(fds), 0);
		child = fork();
		ck_assert_int_ge(child, 0);
		if (child == 0) {
			close(fds[0]);
			mutator(iter, fds[1]);
			_exit(0);
		}
		close(fds[1]);
		/* A random moment: 0 to 30 ms of mutations. */
		usleep((useconds_t)(rand() % 30000));
		kill(td.pid, SIGKILL);
		waitpid(td.pid, &status, 0);
		td.pid = 0;
		close(td.notify_fd);
		td.notify_fd = -1;
		waitpid(child, &status, 0);
		while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
			len += (size_t)n;
		close(fds[0]);
		buf[len] = '\0';

		/* Apply what was acknowledged to the model; the op after the last one was in flight. */
		inflight_delete[0] = '\0';
		inflight_write[0] = '\0';
		f = fmemopen(buf, len ? len : 1, "r");
		ck_assert_ptr_nonnull(f);
		while (len && fscanf(f, " %c %31s %" SCNu32 " %" SCNu64, &op, name, &id, &cr3) == 4) {
			struct tracked *t = tracked(name);
			int step;

			acked++;
			t->id = id;
			inflight_delete[0] = '\0';
			inflight_write[0] = '\0';
			if (op == 'C') {
				t->exists = true;
				snprintf(inflight_write, sizeof(inflight_write), "%s", name);
			} else if (op == 'W') {
				t->cr3 = cr3;
				if (sscanf(name, "k%*d-%d", &step) == 1 && step > 0)
					snprintf(inflight_delete, sizeof(inflight_delete), "k%d-%d", iter, step - 1);
			} else {
				t->exists = false;
			}
		}
		fclose(f);

		tmp_files += check_state_files();
		proto_client_free(cl);
		cl = NULL;
		r = daemon_start(true, "--host", "model", "--host-dump", dump_eraps, NULL);
		ck_assert_msg(r == 0, "restart %d failed (log %s)", iter, td.log);

		/* Every acknowledged VM is there with its CR3; anything else is the op in flight. */
		p = ok("io.hvcap.Vm.List", NULL);
		vms = get(p, "vms");
		for (size_t i = 0; i < n_model; i++) {
			struct json_object *found = NULL;

			for (size_t k = 0; k < json_object_array_length(vms); k++)
				if (strcmp(get_str(json_object_array_get_idx(vms, k), "name"), model[i].name) == 0)
					found = json_object_array_get_idx(vms, k);
			if (model[i].exists && !found) {
				ck_assert_msg(strcmp(model[i].name, inflight_delete) == 0,
					      "iteration %d: acknowledged VM %s is gone", iter, model[i].name);
				model[i].exists = false;
				inflight_applied++;
			} else if (model[i].exists) {
				struct json_object *v;
				const char *is;
				char want[32];

				ck_assert_int_eq(get_int(found, "vm"), model[i].id);
				v = vm_info(model[i].id);
				is = get_str(vcpu_info(v, 0), "cr3");
				snprintf(want, sizeof(want), "0x%" PRIx64, model[i].cr3);
				if (strcmp(is, want) != 0) {
					ck_assert_msg(strcmp(model[i].name, inflight_write) == 0,
						      "iteration %d: %s has cr3 %s, acknowledged %s", iter,
						      model[i].name, is, want);
					model[i].cr3 = strtoull(is, NULL, 16);
					inflight_applied++;
				}
				json_object_put(v);
			} else if (found) {
				ck_abort_msg("iteration %d: deleted VM %s is back", iter, model[i].name);
			}
		}
		/* A VM the model does not know: the Create in flight, at most one. */
		{
			unsigned unknown = 0;

			for (size_t k = 0; k < json_object_array_length(vms); k++) {
				const char *nm = get_str(json_object_array_get_idx(vms, k), "name");
				bool known = false;

				for (size_t i = 0; i < n_model; i++)
					known |= strcmp(model[i].name, nm) == 0 && model[i].exists;
				if (!known) {
					struct tracked *t = tracked(nm);

					/* Adopt it: from now on it must survive like the others. */
					t->id = (uint32_t)get_int(json_object_array_get_idx(vms, k), "vm");
					t->exists = true;
					t->cr3 = 0;
					unknown++;
					inflight_applied++;
				}
			}
			ck_assert_uint_le(unknown, 1);
		}
		json_object_put(p);
	}
	fprintf(stderr, "SIGKILL loop: %d kills, %u acknowledged mutations kept, %u in-flight mutations found "
		"applied, %u temporary files left by kills (removed at start), 0 half-written state files\n",
		KILL_ITERATIONS, acked, inflight_applied, tmp_files);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Reload and drift. */

START_TEST(test_reload_reports_drift)
{
	static struct caps_dump d;
	struct proto_client *w;
	struct json_object *p, *e;
	uint32_t vm, steady;
	bool saw_vm = false;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	vm = create("drifty", "{\"features\": {\"avx2\": \"optional\", \"eraps\": \"optional\"}}");
	steady = create("steady", "{\"features\": {\"sse4_1\": \"require\"}}");
	w = watch_open();

	/* Nothing changed: no drift. */
	p = ok("io.hvcap.Host.Reload", NULL);
	ck_assert(!get_bool(p, "changed"));
	ck_assert_uint_eq(json_object_array_length(get(p, "drifted")), 0);
	json_object_put(p);

	/* The host loses AVX2 (a microcode or BIOS change): SIGHUP. */
	eraps_host(&d);
	set_feature(&d, X86_FEATURE_AVX2, false);
	write_dump(&d, dump_eraps);
	kill(td.pid, SIGHUP);
	e = watch_next(w);
	ck_assert_str_eq(get_str(e, "event"), "host_drift");
	ck_assert(strlen(get_str(e, "fingerprint")) > 0);
	json_object_put(e);
	e = watch_next(w);
	ck_assert_str_eq(get_str(e, "event"), "host_drift");
	ck_assert_int_eq(get_int(e, "vm"), vm);
	ck_assert_str_eq(get_str(e, "name"), "drifty");
	ck_assert(strstr(get_str(e, "detail"), "-avx2") != NULL);
	json_object_put(e);

	/* Then ERAPS goes too; Reload says the host changed and which VMs drifted. */
	set_feature(&d, X86_FEATURE_ERAPS, false);
	write_dump(&d, dump_eraps);
	p = ok("io.hvcap.Host.Reload", NULL);
	ck_assert(get_bool(p, "changed"));
	ck_assert_str_ne(get_str(p, "previous_fingerprint"), get_str(p, "fingerprint"));
	ck_assert_uint_eq(json_object_array_length(get(p, "drifted")), 1);
	ck_assert_int_eq(json_object_get_int64(json_object_array_get_idx(get(p, "drifted"), 0)), vm);
	json_object_put(p);
	e = watch_next(w);
	ck_assert_str_eq(get_str(e, "event"), "host_drift");
	json_object_put(e);
	e = watch_next(w);
	saw_vm = get_int(e, "vm") == vm;
	ck_assert(saw_vm);
	json_object_put(e);

	/* A dump that cannot be read keeps the previous host. */
	{
		FILE *f = fopen(dump_eraps, "w");

		fputs("garbage", f);
		fclose(f);
	}
	p = ok("io.hvcap.Host.Describe", NULL);
	{
		char fp[64];
		struct proto_reply r;
		int rr;

		snprintf(fp, sizeof(fp), "%s", get_str(get(p, "host"), "fingerprint"));
		json_object_put(p);
		/* ReloadFailed names the reason; the connection and the old host stay. */
		rr = proto_client_call(cl, "io.hvcap.Host.Reload", NULL, 0, &r);
		ck_assert_int_eq(rr, 0);
		ck_assert_str_eq(r.error, "io.hvcap.Host.ReloadFailed");
		ck_assert(strstr(get_str(r.parameters, "reason"), dump_eraps) != NULL);
		proto_reply_done(&r);
		p = ok("io.hvcap.Host.Describe", NULL);
		ck_assert_str_eq(get_str(get(p, "host"), "fingerprint"), fp);
	}
	json_object_put(p);
	(void)steady;
	proto_client_free(w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Many clients at once, each pipelining real work. */

#define MANY_CLIENTS 200

static void send_json(struct proto_client *c, const char *method, const char *params_json)
{
	struct json_object *p = json_tokener_parse(params_json);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(proto_client_send(c, method, p, 0), 0);
	json_object_put(p);
}

static struct proto_reply recv_reply(struct proto_client *c)
{
	struct proto_reply r;

	ck_assert_int_eq(proto_client_recv(c, &r), 0);
	return r;
}

START_TEST(test_many_clients_pipelining)
{
	static struct proto_client *c[MANY_CLIENTS];
	static bool seen[MANY_CLIENTS * 4];
	const char *want_features;
	struct json_object *ref, *list, *vms;
	struct timespec t0, t1;
	double secs;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	ref = ok("io.hvcap.Policy.Validate", "{\"policy\": {\"features\": {\"avx2\": \"require\"}}}");
	want_features = json_object_to_json_string(get(get(ref, "guest"), "features"));

	/* Every client connects and sends four calls before anyone reads a reply. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < MANY_CLIENTS; i++) {
		char params[256];

		ck_assert_int_eq(proto_client_connect(td.address, &c[i]), 0);
		proto_client_set_timeout(c[i], 60000);
		send_json(c[i], "io.hvcap.Policy.Validate", "{\"policy\": {\"features\": {\"avx2\": \"require\"}}}");
		snprintf(params, sizeof(params), "{\"name\": \"c%zu\", \"policy\": {\"vcpus\": %zu}}", i, i % 4 + 1);
		send_json(c[i], "io.hvcap.Vm.Create", params);
		send_json(c[i], "io.hvcap.Policy.Validate",
			  "{\"policy\": {\"features\": {\"avx512_vp2intersect\": \"require\"}}}");
		send_json(c[i], "io.hvcap.Vm.Get", "{\"vm\": 4000000000}");
	}
	/* Each gets its four replies, in order, each right. */
	for (size_t i = 0; i < MANY_CLIENTS; i++) {
		struct proto_reply r = recv_reply(c[i]);
		int64_t id;

		ck_assert_str_eq(r.error, "");
		ck_assert_str_eq(get_str(r.parameters, "verdict"), "accepted");
		ck_assert_str_eq(json_object_to_json_string(get(get(r.parameters, "guest"), "features")), want_features);
		proto_reply_done(&r);

		r = recv_reply(c[i]);
		ck_assert_msg(!r.error[0], "client %zu: Create: %s", i, r.error);
		ck_assert_int_eq(get_int(r.parameters, "vcpus"), (int64_t)(i % 4 + 1));
		id = get_int(r.parameters, "vm");
		ck_assert(id >= 0 && id < MANY_CLIENTS * 4);
		ck_assert_msg(!seen[id], "VM id %" PRId64 " given twice", id);
		seen[id] = true;
		proto_reply_done(&r);

		r = recv_reply(c[i]);
		ck_assert_str_eq(r.error, "");
		ck_assert_str_eq(get_str(r.parameters, "verdict"), "rejected");
		proto_reply_done(&r);

		r = recv_reply(c[i]);
		ck_assert_str_eq(r.error, "io.hvcap.Vm.NoSuchVm");
		proto_reply_done(&r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "many clients: %d clients x 4 pipelined calls (2 Validate, Create, Get) = %d replies, "
		"all right and in order, in %.3f s\n", MANY_CLIENTS, MANY_CLIENTS * 4, secs);
	for (size_t i = 0; i < MANY_CLIENTS; i++)
		proto_client_free(c[i]);

	/* And the registry holds exactly those VMs. */
	list = ok("io.hvcap.Vm.List", NULL);
	vms = get(list, "vms");
	ck_assert_uint_eq(json_object_array_length(vms), MANY_CLIENTS);
	for (size_t k = 0; k < MANY_CLIENTS; k++) {
		struct json_object *vm = json_object_array_get_idx(vms, k);
		unsigned long i = strtoul(get_str(vm, "name") + 1, NULL, 10);

		ck_assert(seen[get_int(vm, "vm")]);
		ck_assert_int_eq(get_int(vm, "vcpus"), (int64_t)(i % 4 + 1));
	}
	json_object_put(list);
	json_object_put(ref);
}
END_TEST

START_TEST(test_watch_limits_and_parameters)
{
	struct proto_client *w[4];
	struct proto_reply r;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	/* Without "more": ExpectedMore, from the method table's flag. */
	r = call("io.hvcap.Vm.Watch", NULL);
	ck_assert_str_eq(r.error, "org.varlink.service.ExpectedMore");
	proto_reply_done(&r);
	/* Several watchers all hear one event; one that leaves is dropped quietly. */
	for (size_t i = 0; i < ARRAY_SIZE(w); i++)
		w[i] = watch_open();
	proto_client_free(w[3]);
	create("x", "{}");
	for (size_t i = 0; i < 3; i++) {
		watch_expect(w[i], "vm_created", 1);
		proto_client_free(w[i]);
	}
	json_object_put(ok("io.hvcap.Vm.Delete", "{\"vm\": 1}"));
}
END_TEST

/* HVCAPD_MAX_WATCHERS (256) streams at the limit, LimitExceeded one past it, room again after one leaves. */
START_TEST(test_watch_limit)
{
	static struct proto_client *w[256];
	struct proto_client *extra = NULL;
	struct proto_reply r;
	struct json_object *p;

	setup_dumps();
	start_model(false, dump_eraps, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(w); i++)
		w[i] = watch_open();
	ck_assert_int_eq(proto_client_connect(td.address, &extra), 0);
	ck_assert_int_eq(proto_client_call(extra, "io.hvcap.Vm.Watch", NULL, PROTO_CALL_MORE, &r), 0);
	ck_assert_str_eq(r.error, "io.hvcap.LimitExceeded");
	p = r.parameters;
	ck_assert_str_eq(get_str(p, "limit"), "max_watchers");
	ck_assert_int_eq(get_int(p, "value"), 256);
	proto_reply_done(&r);
	proto_client_free(extra);
	proto_client_free(w[0]);
	/* An event lets the server find out that the first watcher left (the write fails). */
	create("x", "{}");
	for (size_t i = 1; i < ARRAY_SIZE(w); i++)
		watch_expect(w[i], "vm_created", 1);
	for (int tries = 0;; tries++) {
		ck_assert_int_eq(proto_client_connect(td.address, &extra), 0);
		ck_assert_int_eq(proto_client_call(extra, "io.hvcap.Vm.Watch", NULL, PROTO_CALL_MORE, &r), 0);
		if (!r.error[0]) {
			proto_reply_done(&r);
			break;
		}
		proto_reply_done(&r);
		proto_client_free(extra);
		ck_assert_int_lt(tries, 100);
		usleep(20000);
	}
	w[0] = extra;
	create("y", "{}");
	for (size_t i = 0; i < ARRAY_SIZE(w); i++) {
		watch_expect(w[i], "vm_created", 2);
		proto_client_free(w[i]);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon-methods");
	TCase *tc;

	if (access(test_hvcapd_path(), X_OK) != 0) {
		fprintf(stderr, "SKIP: %s is not built\n", test_hvcapd_path());
		return TEST_EXIT_SKIP;
	}

	tc = tcase_create("host");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_host_describe_and_capabilities_match_hvctl);
	tcase_add_test(tc, test_host_kvm_backend);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_policy_validate_and_compare);
	suite_add_tcase(s, tc);

	tc = tcase_create("vm");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_vm_create_list_get_delete);
	tcase_add_test(tc, test_vm_limits_from_config);
	tcase_add_test(tc, test_vcpu_add_and_set_cpuid);
	tcase_add_test(tc, test_vcpu_identical_cpuid_after_run);
	tcase_add_test(tc, test_apic_base_hybrid_avic_inhibits_memslot_for_good);
	tcase_add_test(tc, test_apic_base_errors);
	tcase_add_test(tc, test_eraps_run_and_nested_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_state_restart_restores_every_vm);
	tcase_add_test(tc, test_state_corrupt_file_stops_start);
	tcase_add_test(tc, test_state_sigkill_loop_keeps_acknowledged_mutations);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_reload_reports_drift);
	tcase_add_test(tc, test_watch_limits_and_parameters);
	tcase_add_test(tc, test_watch_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_many_clients_pipelining);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
