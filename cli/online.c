/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl's online side: connecting to hvcapd, calling, printing errors. */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <proto/policy.h>

#include "online.h"
#include "output.h"

const char *hvctl_address;

bool hvctl_online_is_absent(int r)
{
	return r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR;
}

int hvctl_online_connect(const struct hvctl_command *cmd, struct hvctl_online *o, bool quiet)
{
	int r;

	o->client = NULL;
	o->address[0] = '\0';
	r = proto_address_resolve(hvctl_address, o->address, sizeof(o->address));
	if (r < 0) {
		if (!quiet)
			fprintf(stderr, "%s: bad address '%s': %s (use unix:PATH)\n", hvctl_who(cmd),
				hvctl_address ? hvctl_address : getenv(PROTO_ADDRESS_ENV), strerror(-r));
		return r;
	}
	r = proto_client_connect(o->address, &o->client);
	if (r < 0) {
		if (!quiet) {
			if (hvctl_online_is_absent(r))
				fprintf(stderr, "%s: no hvcapd answers at %s (%s); start it, or give "
					"--address unix:PATH or %s\n", hvctl_who(cmd), o->address,
					strerror(-r), PROTO_ADDRESS_ENV);
			else
				fprintf(stderr, "%s: cannot connect to %s: %s\n", hvctl_who(cmd),
					o->address, strerror(-r));
		}
		return r;
	}
	return 0;
}

int hvctl_online_fallback(const struct hvctl_command *cmd, const struct hvctl_online *o, int r,
			  const char *instead)
{
	if (r == -EINVAL || r == -ENAMETOOLONG) {
		fprintf(stderr, "%s: bad address '%s': %s (use unix:PATH)\n", hvctl_who(cmd),
			hvctl_address ? hvctl_address : getenv(PROTO_ADDRESS_ENV), strerror(-r));
		return HVCTL_EXIT_USAGE;
	}
	fprintf(stderr, "%s: no hvcapd answers at %s (%s): %s\n", hvctl_who(cmd), o->address,
		strerror(-r), instead);
	return -1;
}

int hvctl_online_open(const struct hvctl_command *cmd, struct hvctl_online *o)
{
	int r = hvctl_online_connect(cmd, o, false);

	if (r == -EINVAL || r == -ENAMETOOLONG)
		return HVCTL_EXIT_USAGE;
	return r < 0 ? HVCTL_EXIT_FAILURE : 0;
}

void hvctl_online_close(struct hvctl_online *o)
{
	proto_client_free(o->client);
	o->client = NULL;
}

/* Explanations of the errors hvcapd returns, for people. */
static const struct {
	const char *error;
	const char *what;
} known_errors[] = {
	{ "io.hvcap.PermissionDenied", "permission denied: root, the daemon's user or the admin group may do this" },
	{ "io.hvcap.LimitExceeded", "a daemon limit was reached" },
	{ "io.hvcap.Vm.NoSuchVm", "no such VM" },
	{ "io.hvcap.Vm.NoSuchVcpu", "no such vCPU" },
	{ "io.hvcap.Vm.VmExists", "a VM of that name exists" },
	{ "io.hvcap.Vm.VcpuExists", "that vCPU exists" },
	{ "io.hvcap.Vm.PolicyRejected", "the policy is rejected on this host" },
	{ "io.hvcap.Vm.TooManyEntries", "too many CPUID entries (KVM takes at most 256)" },
	{ "io.hvcap.Vm.InvalidCpuid", "KVM would refuse this CPUID" },
	{ "io.hvcap.Vm.CpuidFrozen", "the vCPU has run: only its current CPUID is accepted" },
	{ "io.hvcap.Vm.InvalidApicBase", "KVM would refuse this APIC base" },
	{ "io.hvcap.Vm.InvalidState", "not possible in the vCPU's current state" },
	{ "io.hvcap.Host.ReloadFailed", "the host could not be read again; the previous record stays" },
	{ "io.hvcap.Policy.InvalidDump", "the host dump cannot be read" },
	{ "io.hvcap.Policy.InvalidHostParameter", "bad host parameter" },
	{ "org.varlink.service.InvalidParameter", "invalid parameter" },
	{ "org.varlink.service.MethodNotFound", "the daemon does not know this method (older version?)" },
	{ "org.varlink.service.InterfaceNotFound", "the daemon does not know this interface (older version?)" },
	{ "org.varlink.service.ExpectedMore", "the call needs streaming" },
};

/* A rejected policy's problems, as 'hvctl policy check' prints them. */
static void print_problems(struct json_object *problems)
{
	for (size_t i = 0; problems && i < json_object_array_length(problems); i++) {
		struct json_object *p = json_object_array_get_idx(problems, i);
		const char *policy = hvctl_json_str(p, "policy"), *rule = hvctl_json_str(p, "rule");

		fprintf(stderr, "  problem: %s%s%s%s: %s%s%s%s\n           %s\n",
			hvctl_json_str(p, "feature"), policy ? " (" : "", policy ? policy : "",
			policy ? ")" : "", hvctl_json_str(p, "reason"), rule ? " [" : "", rule ? rule : "",
			rule ? "]" : "", hvctl_json_str(p, "detail"));
	}
}

void hvctl_print_varlink_error(const struct hvctl_command *cmd, const char *error,
			       struct json_object *parameters)
{
	const char *what = NULL, *params = NULL;

	for (size_t i = 0; i < sizeof(known_errors) / sizeof(known_errors[0]); i++)
		if (strcmp(known_errors[i].error, error) == 0)
			what = known_errors[i].what;
	if (parameters && json_object_object_length(parameters) > 0)
		params = json_object_to_json_string_ext(parameters, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE);
	if (what)
		fprintf(stderr, "%s: %s (%s)\n", hvctl_who(cmd), what, error);
	else
		fprintf(stderr, "%s: %s\n", hvctl_who(cmd), error);
	if (strcmp(error, "io.hvcap.Vm.PolicyRejected") == 0)
		print_problems(hvctl_json_get(parameters, "problems"));
	else if (params && json_object_object_length(parameters) == 1 && hvctl_json_str(parameters, "reason"))
		fprintf(stderr, "  %s\n", hvctl_json_str(parameters, "reason"));
	else if (params)
		fprintf(stderr, "  %s\n", params);
}

int hvctl_online_call(const struct hvctl_command *cmd, struct hvctl_online *o, const char *method,
		      struct json_object *parameters, struct json_object **ret)
{
	struct proto_reply reply = { 0 };
	int r;

	r = proto_client_call(o->client, method, parameters, 0, &reply);
	json_object_put(parameters);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", hvctl_who(cmd), o->address,
			r == -EPROTO ? "malformed reply" : strerror(-r));
		return HVCTL_EXIT_FAILURE;
	}
	if (reply.error[0]) {
		/* What the command line gave is at fault: a usage error, as offline. */
		bool usage = strcmp(reply.error, "org.varlink.service.InvalidParameter") == 0 ||
			     strcmp(reply.error, "io.hvcap.Policy.InvalidHostParameter") == 0;

		hvctl_print_varlink_error(cmd, reply.error, reply.parameters);
		proto_reply_done(&reply);
		return usage ? HVCTL_EXIT_USAGE : HVCTL_EXIT_FAILURE;
	}
	*ret = reply.parameters;
	reply.parameters = NULL;
	proto_reply_done(&reply);
	return 0;
}

int hvctl_online_call_once(const struct hvctl_command *cmd, const char *method,
			   struct json_object *parameters, struct json_object **ret)
{
	struct hvctl_online o;
	int r;

	r = hvctl_online_open(cmd, &o);
	if (r) {
		json_object_put(parameters);
		return r;
	}
	r = hvctl_online_call(cmd, &o, method, parameters, ret);
	hvctl_online_close(&o);
	return r;
}

int hvctl_parse_id(const char *s, uint32_t max, uint32_t *ret)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

int hvctl_resolve_vm(const struct hvctl_command *cmd, struct hvctl_online *o, const char *arg,
		     int64_t *ret)
{
	struct json_object *reply = NULL, *vms;
	uint32_t id;
	int r;

	if (hvctl_parse_id(arg, INT32_MAX, &id) == 0) {
		*ret = id;
		return 0;
	}
	r = hvctl_online_call(cmd, o, "io.hvcap.Vm.List", NULL, &reply);
	if (r)
		return r;
	vms = hvctl_json_get(reply, "vms");
	for (size_t i = 0; vms && i < json_object_array_length(vms); i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);
		const char *name = hvctl_json_str(vm, "name");

		if (name && strcmp(name, arg) == 0) {
			*ret = hvctl_json_int(vm, "vm");
			json_object_put(reply);
			return 0;
		}
	}
	json_object_put(reply);
	fprintf(stderr, "%s: no VM with id or name '%s'\n", hvctl_who(cmd), arg);
	return HVCTL_EXIT_FAILURE;
}

struct json_object *hvctl_json_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *hvctl_json_str(struct json_object *o, const char *key)
{
	struct json_object *v = hvctl_json_get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int64_t hvctl_json_int(struct json_object *o, const char *key)
{
	struct json_object *v = hvctl_json_get(o, key);

	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

bool hvctl_json_bool(struct json_object *o, const char *key)
{
	struct json_object *v = hvctl_json_get(o, key);

	return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

int hvctl_parse_plain(const struct hvctl_command *cmd, int argc, char **argv, int n_pos,
		      bool *json, char ***ret_pos)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":hj", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return -1;
		case 'j':
			*json = true;
			break;
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (argc - optind != n_pos)
		return hvctl_usage_error(cmd, "expected %d argument%s: %s", n_pos, n_pos == 1 ? "" : "s",
					 cmd->synopsis);
	*ret_pos = argv + optind;
	return 0;
}

int hvctl_print_reply_json(struct json_object *reply)
{
	int r = hvctl_json_print(reply);

	json_object_put(reply);
	return r < 0 ? HVCTL_EXIT_FAILURE : HVCTL_EXIT_OK;
}

void hvctl_json_features(struct json_object *names, struct caps *ret, size_t *ret_unknown)
{
	size_t unknown = 0;

	caps_zero(ret);
	for (size_t i = 0; names && i < json_object_array_length(names); i++) {
		struct json_object *n = json_object_array_get_idx(names, i);
		int f = json_object_is_type(n, json_type_string) ?
			caps_feature_lookup(json_object_get_string(n)) : -EINVAL;

		if (f >= 0)
			caps_set(ret, f);
		else
			unknown++;
	}
	if (ret_unknown)
		*ret_unknown = unknown;
}

int hvctl_policy_read(const struct hvctl_command *cmd, const char *path, struct caps_policy *ret)
{
	struct proto_error perr = { { 0 } };
	int r;

	r = proto_policy_read_file(path, ret, &perr);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s%s%s\n", hvctl_who(cmd), path, perr.path,
			perr.path[0] ? ": " : "", perr.message[0] ? perr.message : strerror(-r));
		return HVCTL_EXIT_USAGE;
	}
	return 0;
}

/* Add extra's members (consumed, may be NULL) to params. */
static void merge(struct json_object *params, struct json_object *extra)
{
	if (extra && params) {
		json_object_object_foreach(extra, key, val)
			json_object_object_add(params, key, json_object_get(val));
	}
	json_object_put(extra);
}

int hvctl_vm_call(const struct hvctl_command *cmd, const char *vm_arg, const char *method,
		  struct json_object *extra, struct json_object **ret, int64_t *ret_vm)
{
	struct json_object *params;
	struct hvctl_online o;
	int64_t vm;
	int r;

	r = hvctl_online_open(cmd, &o);
	if (r) {
		json_object_put(extra);
		return r;
	}
	r = hvctl_resolve_vm(cmd, &o, vm_arg, &vm);
	if (r == 0) {
		params = json_object_new_object();
		if (params)
			json_object_object_add(params, "vm", json_object_new_int64(vm));
		merge(params, extra);
		extra = NULL;
		r = hvctl_online_call(cmd, &o, method, params, ret);
		if (ret_vm)
			*ret_vm = vm;
	}
	json_object_put(extra);
	hvctl_online_close(&o);
	return r;
}

int hvctl_vcpu_call(const struct hvctl_command *cmd, const char *vm_arg, const char *vcpu_arg,
		    const char *method, struct json_object *extra, struct json_object **ret)
{
	struct json_object *vcpu_extra;
	uint32_t vcpu;

	if (hvctl_parse_id(vcpu_arg, INT32_MAX, &vcpu) < 0) {
		json_object_put(extra);
		return hvctl_usage_error(cmd, "VCPU '%s' is not a vCPU id", vcpu_arg);
	}
	vcpu_extra = json_object_new_object();
	if (vcpu_extra)
		json_object_object_add(vcpu_extra, "vcpu", json_object_new_int64(vcpu));
	merge(vcpu_extra, extra);
	return hvctl_vm_call(cmd, vm_arg, method, vcpu_extra, ret, NULL);
}

const char *hvctl_erap_string(int64_t v, char *buf, size_t size)
{
	snprintf(buf, size, "0x%02llx (%s)", (unsigned long long)v & 0xff,
		 (v & 3) == 3 ? "ALLOW_LARGER_RAP CLEAR_RAP" :
		 (v & 1) ? "ALLOW_LARGER_RAP" : (v & 2) ? "CLEAR_RAP" : "none");
	return buf;
}

int hvctl_parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int hvctl_vcpu_erap_command(const struct hvctl_command *cmd, int argc, char **argv, const char *method,
			    const char *key, const char *before, const char *after)
{
	struct json_object *reply = NULL;
	bool json = false;
	char buf[64];
	char **pos;
	int r;

	r = hvctl_parse_plain(cmd, argc, argv, 2, &json, &pos);
	if (r)
		return r < 0 ? HVCTL_EXIT_OK : r;
	r = hvctl_vcpu_call(cmd, pos[0], pos[1], method, NULL, &reply);
	if (r)
		return r;
	if (json)
		return hvctl_print_reply_json(reply);
	printf("%s%s%s\n", before, hvctl_erap_string(hvctl_json_int(reply, key), buf, sizeof(buf)), after);
	json_object_put(reply);
	return HVCTL_EXIT_OK;
}
