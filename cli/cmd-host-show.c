/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl host show: the host record hvcapd serves (io.hvcap.Host.Describe). */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "online.h"
#include "output.h"

static void print_params(struct json_object *params)
{
	struct hvctl_wrap wrap;

	printf("params:        ");
	hvctl_wrap_start(&wrap, stdout, 15, 15);
	for (size_t i = 0; params && i < json_object_array_length(params); i++) {
		struct json_object *p = json_object_array_get_idx(params, i);
		const char *module = hvctl_json_str(p, "module");
		char kv[256];

		if (module && strcmp(module, "model") == 0)
			snprintf(kv, sizeof(kv), "%s=%s", hvctl_json_str(p, "name"), hvctl_json_str(p, "value"));
		else
			snprintf(kv, sizeof(kv), "%s.%s=%s", module, hvctl_json_str(p, "name"),
				 hvctl_json_str(p, "value"));
		hvctl_wrap_word(&wrap, kv);
	}
	hvctl_wrap_end(&wrap);
}

static size_t array_length(struct json_object *o, const char *key)
{
	struct json_object *a = hvctl_json_get(o, key);

	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static void print_human(const char *address, struct json_object *host, enum caps_names names)
{
	struct caps features;
	size_t unknown = 0;
	const char *mc = hvctl_json_str(host, "microcode");

	hvctl_json_features(hvctl_json_get(host, "features"), &features, &unknown);
	printf("daemon:        hvcapd at %s\n", address);
	printf("backend:       %s\n", hvctl_json_str(host, "backend"));
	printf("kernel:        %s\n", hvctl_json_str(host, "kernel_release"));
	printf("vendor module: %s\n", hvctl_json_str(host, "vendor_module"));
	printf("KVM API:       %lld\n", (long long)hvctl_json_int(host, "api_version"));
	if (mc)
		printf("microcode:     %s\n", mc);
	printf("fingerprint:   %s\n", hvctl_json_str(host, "fingerprint"));
	printf("x86-64 level:  %s\n", hvctl_level_string(hvctl_json_int(host, "level")));
	printf("AVIC:          %s\n", hvctl_avic_string(hvctl_json_bool(host, "avic"), hvctl_json_bool(host, "x2avic")));
	print_params(hvctl_json_get(host, "params"));
	printf("CPUID entries: %zu supported, %zu emulated\n", array_length(host, "cpuid"),
	       array_length(host, "emulated_cpuid"));
	printf("feature MSRs:  %zu, KVM capabilities: %zu\n", array_length(host, "msrs"),
	       array_length(host, "kvm_caps"));
	printf("features:      %zu supported\n", array_length(host, "features") - unknown);
	hvctl_print_features(&features, names);
	if (unknown)
		printf("(%zu feature names this hvctl does not know)\n", unknown);
}

static int host_show_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",  no_argument,       NULL, 'h' },
		{ "json",  no_argument,       NULL, 'j' },
		{ "names", required_argument, NULL, 'n' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_host_show;
	enum caps_names names = CAPS_NAMES_LINUX;
	struct json_object *reply = NULL;
	struct hvctl_online o;
	bool json = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hjn:", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'j':
			json = true;
			break;
		case 'n':
			if (hvctl_parse_names(cmd, optarg, &names))
				return HVCTL_EXIT_USAGE;
			break;
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (optind < argc)
		return hvctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

	r = hvctl_online_open(cmd, &o);
	if (r)
		return r;
	r = hvctl_online_call(cmd, &o, "io.hvcap.Host.Describe", NULL, &reply);
	if (r == 0) {
		if (json)
			r = hvctl_print_reply_json(reply);
		else {
			print_human(o.address, hvctl_json_get(reply, "host"), names);
			json_object_put(reply);
		}
	}
	hvctl_online_close(&o);
	return r;
}

const struct hvctl_command hvctl_cmd_host_show = {
	.group = "host",
	.name = "show",
	.synopsis = "[--names linux|qemu] [--json]",
	.summary = "The host record hvcapd serves: backend, kernel, parameters, fingerprint, features",
	.help =
		"Asks hvcapd (io.hvcap.Host.Describe).  'hvctl host probe' reads this\n"
		"machine's KVM directly, without the daemon.\n"
		"\n"
		"  -n, --names STYLE   linux (default) or qemu feature names\n"
		"  -j, --json          the reply of io.hvcap.Host.Describe: {host: {backend,\n"
		"                      kernel_release, vendor_module, api_version, microcode,\n"
		"                      fingerprint, level, avic, x2avic, params, features,\n"
		"                      cpuid, emulated_cpuid, msrs, kvm_caps}}\n"
		"  -h, --help          show this help\n",
	.run = host_show_run,
};
