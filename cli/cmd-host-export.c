/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl host export: this host's guest capabilities for inventories. */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "online.h"
#include "output.h"

/*
 * The inventory record: who (hostname, fingerprint, backend, kernel,
 * vendor module), what guests can get (features), and which of the host
 * CPU's features KVM leaves out, with the reason.
 */
static struct json_object *inventory(struct json_object *host, struct json_object *caps)
{
	struct json_object *o = json_object_new_object();
	struct json_object *supported = json_object_new_array();
	struct json_object *withheld = json_object_new_array();
	struct json_object *features = hvctl_json_get(caps, "features");
	char hostname[256] = "";

	if (!o || !supported || !withheld) {
		json_object_put(o);
		json_object_put(supported);
		json_object_put(withheld);
		return NULL;
	}
	gethostname(hostname, sizeof(hostname) - 1);
	json_object_object_add(o, "hostname", json_object_new_string(hostname));
	json_object_object_add(o, "fingerprint", json_object_get(hvctl_json_get(caps, "fingerprint")));
	json_object_object_add(o, "backend", json_object_get(hvctl_json_get(host, "backend")));
	json_object_object_add(o, "kernel_release", json_object_get(hvctl_json_get(host, "kernel_release")));
	json_object_object_add(o, "vendor_module", json_object_get(hvctl_json_get(host, "vendor_module")));
	json_object_object_add(o, "microcode", json_object_get(hvctl_json_get(host, "microcode")));
	for (size_t i = 0; features && i < json_object_array_length(features); i++) {
		struct json_object *f = json_object_array_get_idx(features, i);
		struct json_object *w;

		if (hvctl_json_bool(f, "kvm")) {
			json_object_array_add(supported, json_object_get(hvctl_json_get(f, "name")));
			continue;
		}
		if (!hvctl_json_bool(f, "host"))
			continue;
		w = json_object_new_object();
		json_object_object_add(w, "name", json_object_get(hvctl_json_get(f, "name")));
		json_object_object_add(w, "reason", json_object_get(hvctl_json_get(f, "reason")));
		json_object_object_add(w, "detail", json_object_get(hvctl_json_get(f, "detail")));
		json_object_array_add(withheld, w);
	}
	json_object_object_add(o, "features", supported);
	json_object_object_add(o, "withheld", withheld);
	return o;
}

static int host_export_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",   no_argument,       NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "names",  required_argument, NULL, 'n' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_host_export;
	struct json_object *describe = NULL, *caps = NULL, *p, *o;
	const char *format = NULL, *names = "linux";
	enum caps_names style;
	struct hvctl_online on;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hf:n:", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'f':
			format = optarg;
			break;
		case 'n':
			if (hvctl_parse_names(cmd, optarg, &style))
				return HVCTL_EXIT_USAGE;
			names = optarg;
			break;
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (optind < argc)
		return hvctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!format)
		return hvctl_usage_error(cmd, "--format is required (json)");
	if (strcmp(format, "json") != 0)
		return hvctl_usage_error(cmd, "unknown format '%s' (json)", format);

	r = hvctl_online_open(cmd, &on);
	if (r)
		return r;
	r = hvctl_online_call(cmd, &on, "io.hvcap.Host.Describe", NULL, &describe);
	if (r == 0) {
		p = json_object_new_object();
		json_object_object_add(p, "names", json_object_new_string(names));
		r = hvctl_online_call(cmd, &on, "io.hvcap.Host.GetCapabilities", p, &caps);
	}
	hvctl_online_close(&on);
	if (r == 0) {
		o = inventory(hvctl_json_get(describe, "host"), caps);
		r = o ? hvctl_print_reply_json(o) : HVCTL_EXIT_FAILURE;
		if (!o)
			fprintf(stderr, "hvctl host export: out of memory\n");
	}
	json_object_put(describe);
	json_object_put(caps);
	return r;
}

const struct hvctl_command hvctl_cmd_host_export = {
	.group = "host",
	.name = "export",
	.synopsis = "--format json [--names linux|qemu]",
	.summary = "What guests can get on this host, for inventories",
	.help =
		"Asks hvcapd and prints one JSON object: hostname, fingerprint, backend,\n"
		"kernel_release, vendor_module, microcode, features (what KVM offers guests)\n"
		"and withheld (the host CPU's features KVM does not offer: name, reason,\n"
		"detail).  Compare fingerprints to notice that a host changed.\n"
		"\n"
		"  -f, --format FORMAT  json (required)\n"
		"  -n, --names STYLE    linux (default) or qemu feature names\n"
		"  -h, --help           show this help\n",
	.run = host_export_run,
};
