/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl watch: print hvcapd's events as they happen. */

#include <errno.h>
#include <string.h>

#include "online.h"

static void print_event(struct json_object *e)
{
	const char *event = hvctl_json_str(e, "event"), *name = hvctl_json_str(e, "name");
	const char *fp = hvctl_json_str(e, "fingerprint"), *detail = hvctl_json_str(e, "detail");

	printf("%s", event ? event : "?");
	if (hvctl_json_get(e, "vm"))
		printf(" vm=%lld", (long long)hvctl_json_int(e, "vm"));
	if (name)
		printf(" name=%s", name);
	if (fp)
		printf(" fingerprint=%s", fp);
	if (detail)
		printf(": %s", detail);
	printf("\n");
}

static int watch_run(int argc, char **argv)
{
	const struct hvctl_command *cmd = &hvctl_cmd_watch;
	struct hvctl_online o;
	bool json = false;
	char **pos;
	int r;

	r = hvctl_parse_plain(cmd, argc, argv, 0, &json, &pos);
	if (r)
		return r < 0 ? HVCTL_EXIT_OK : r;
	r = hvctl_online_open(cmd, &o);
	if (r)
		return r;
	proto_client_set_timeout(o.client, 0);
	r = proto_client_send(o.client, "io.hvcap.Vm.Watch", NULL, PROTO_CALL_MORE);
	while (r >= 0) {
		struct proto_reply reply = { 0 };

		r = proto_client_recv(o.client, &reply);
		if (r < 0)
			break;
		if (reply.error[0]) {
			hvctl_print_varlink_error(cmd, reply.error, reply.parameters);
			proto_reply_done(&reply);
			hvctl_online_close(&o);
			return HVCTL_EXIT_FAILURE;
		}
		if (json)
			printf("%s\n", json_object_to_json_string_ext(reply.parameters, JSON_C_TO_STRING_PLAIN |
								      JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			print_event(reply.parameters);
		fflush(stdout);
		if (!reply.continues) {
			proto_reply_done(&reply);
			hvctl_online_close(&o);
			return HVCTL_EXIT_OK;
		}
		proto_reply_done(&reply);
	}
	fprintf(stderr, "hvctl watch: %s: %s\n", o.address,
		r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN ? "hvcapd went away" : strerror(-r));
	hvctl_online_close(&o);
	return HVCTL_EXIT_FAILURE;
}

const struct hvctl_command hvctl_cmd_watch = {
	.group = "watch",
	.name = NULL,
	.synopsis = "[--json]",
	.summary = "Print hvcapd's events as they happen (until interrupted)",
	.help =
		"Events: watching (first), vm_created, vm_deleted, memslot_inhibited\n"
		"(a VM's APIC access memslot is inhibited for good), host_drift (after a\n"
		"reload the host record changed: the new fingerprint, and the VMs whose guest\n"
		"features differ).  Each is one line: EVENT [vm=ID] [name=NAME]\n"
		"[fingerprint=FP][: DETAIL].\n"
		"\n"
		"  -j, --json   one JSON object per line, as io.hvcap.Vm.Watch streams them:\n"
		"               {event, vm, name, fingerprint, detail}\n"
		"  -h, --help   show this help\n",
	.run = watch_run,
};
