/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl host reload: have hvcapd probe its host again and report drift. */

#include "online.h"

static int host_reload_run(int argc, char **argv)
{
	const struct hvctl_command *cmd = &hvctl_cmd_host_reload;
	struct json_object *reply = NULL, *drifted;
	bool json = false;
	char **pos;
	size_t n;
	int r;

	r = hvctl_parse_plain(cmd, argc, argv, 0, &json, &pos);
	if (r)
		return r < 0 ? HVCTL_EXIT_OK : r;
	r = hvctl_online_call_once(cmd, "io.hvcap.Host.Reload", NULL, &reply);
	if (r)
		return r;
	if (json)
		return hvctl_print_reply_json(reply);
	drifted = hvctl_json_get(reply, "drifted");
	n = drifted ? json_object_array_length(drifted) : 0;
	if (hvctl_json_bool(reply, "changed"))
		printf("the host changed: fingerprint %s (was %s)\n", hvctl_json_str(reply, "fingerprint"),
		       hvctl_json_str(reply, "previous_fingerprint"));
	else
		printf("the host is unchanged: fingerprint %s\n", hvctl_json_str(reply, "fingerprint"));
	printf("%zu VM%s drifted", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		printf("%s%lld", i ? " " : ": ", (long long)json_object_get_int64(json_object_array_get_idx(drifted, i)));
	printf("%s\n", n ? " ('hvctl watch' shows how)" : "");
	json_object_put(reply);
	return HVCTL_EXIT_OK;
}

const struct hvctl_command hvctl_cmd_host_reload = {
	.group = "host",
	.name = "reload",
	.synopsis = "[--json]",
	.summary = "Have hvcapd probe its host again and say which VMs drifted",
	.help =
		"The same as sending hvcapd SIGHUP (io.hvcap.Host.Reload): the host is probed\n"
		"again (or its dump read again), and every VM's policy is evaluated under the\n"
		"new host record.  A VM drifted when its policy is now rejected or gives\n"
		"other guest features; its vCPUs keep their CPUID.  When the host cannot be\n"
		"read, the previous record stays (io.hvcap.Host.ReloadFailed).  Needs\n"
		"privileges.\n"
		"\n"
		"  -j, --json   the reply of io.hvcap.Host.Reload: {previous_fingerprint,\n"
		"               fingerprint, changed, drifted}\n"
		"  -h, --help   show this help\n",
	.run = host_reload_run,
};
