/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvctl complete: the words shell completion offers, one per line, from
 * this hvctl's own tables (and hvcapd's VMs), so that completion/hvctl
 * never keeps lists of its own that drift.
 */

#include <getopt.h>
#include <string.h>

#include <hvcore/model.h>

#include "online.h"

static int complete_commands(void)
{
	const struct hvctl_command *c;

	for (size_t i = 0; (c = hvctl_command_at(i)); i++)
		printf("%s\n", hvctl_who(c) + strlen("hvctl "));
	return HVCTL_EXIT_OK;
}

static int complete_features(enum caps_names names)
{
	const struct caps_feature_info *fi;

	for (size_t i = 0; (fi = caps_feature_at(i)); i++)
		printf("%s\n", caps_feature_name(fi->id, names));
	return HVCTL_EXIT_OK;
}

/*
 * Every K=V the model's own parser accepts, from candidate values: the
 * canonical spelling of each kind of value, and every kernel release the
 * model covers (Linux follows 6.19 with 7.0, so no minor above 19).
 */
static int complete_params(void)
{
	static const char *const values[] = { "on", "off", "intel", "amd", "4", "5", "auto" };
	const char *names = hv_host_params_names();

	while (*names) {
		size_t len = strcspn(names, " ");
		struct hv_host_params p;
		char key[32], value[8], err[160];

		if (len > 0 && len < sizeof(key)) {
			memcpy(key, names, len);
			key[len] = '\0';
			for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
				hv_host_params_init(&p, NULL);
				if (hv_host_params_set(&p, key, values[i], err, sizeof(err)) == 0)
					printf("%s=%s\n", key, values[i]);
			}
			for (int v = HV_KERNEL_OLDEST; v <= HV_KERNEL_NEWEST; v++) {
				if (v % 100 > 19)
					continue;
				snprintf(value, sizeof(value), "%d.%d", v / 100, v % 100);
				hv_host_params_init(&p, NULL);
				if (hv_host_params_set(&p, key, value, err, sizeof(err)) == 0)
					printf("%s=%s\n", key, value);
			}
		}
		names += len;
		names += strspn(names, " ");
	}
	return HVCTL_EXIT_OK;
}

/* Call method without a word on stderr: completion must not scribble on the line. */
static int call_quiet(struct hvctl_online *o, const char *method, struct json_object *parameters,
		      struct json_object **ret)
{
	struct proto_reply reply = { 0 };
	int r;

	r = proto_client_call(o->client, method, parameters, 0, &reply);
	json_object_put(parameters);
	if (r < 0)
		return HVCTL_EXIT_FAILURE;
	if (reply.error[0]) {
		proto_reply_done(&reply);
		return HVCTL_EXIT_FAILURE;
	}
	*ret = reply.parameters;
	reply.parameters = NULL;
	proto_reply_done(&reply);
	return 0;
}

/* Without vm_arg: "ID NAME" per VM.  With it: that VM's vCPU ids. */
static int complete_vms(const struct hvctl_command *cmd, const char *vm_arg)
{
	struct json_object *reply = NULL, *vms, *params, *vcpus;
	struct hvctl_online o;
	int64_t vm = -1;
	int r;

	if (hvctl_online_connect(cmd, &o, true) < 0)
		return HVCTL_EXIT_FAILURE;
	r = call_quiet(&o, "io.hvcap.Vm.List", NULL, &reply);
	if (r) {
		hvctl_online_close(&o);
		return r;
	}
	vms = hvctl_json_get(reply, "vms");
	for (size_t i = 0; vms && i < json_object_array_length(vms); i++) {
		struct json_object *v = json_object_array_get_idx(vms, i);
		const char *name = hvctl_json_str(v, "name");
		char id[24];

		snprintf(id, sizeof(id), "%lld", (long long)hvctl_json_int(v, "vm"));
		if (!vm_arg)
			printf("%s %s\n", id, name ? name : "");
		else if (strcmp(vm_arg, id) == 0 || (name && strcmp(vm_arg, name) == 0))
			vm = hvctl_json_int(v, "vm");
	}
	json_object_put(reply);
	if (!vm_arg || vm < 0) {
		hvctl_online_close(&o);
		return vm_arg ? HVCTL_EXIT_FAILURE : HVCTL_EXIT_OK;
	}

	params = json_object_new_object();
	if (!params) {
		hvctl_online_close(&o);
		return HVCTL_EXIT_FAILURE;
	}
	json_object_object_add(params, "vm", json_object_new_int64(vm));
	r = call_quiet(&o, "io.hvcap.Vm.Get", params, &reply);
	hvctl_online_close(&o);
	if (r)
		return r;
	vcpus = hvctl_json_get(hvctl_json_get(reply, "vm"), "vcpus");
	for (size_t i = 0; vcpus && i < json_object_array_length(vcpus); i++)
		printf("%lld\n", (long long)hvctl_json_int(json_object_array_get_idx(vcpus, i), "vcpu"));
	json_object_put(reply);
	return HVCTL_EXIT_OK;
}

static int complete_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",  no_argument,       NULL, 'h' },
		{ "names", required_argument, NULL, 'n' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_complete;
	enum caps_names names = CAPS_NAMES_LINUX;
	bool names_given = false;
	const char *what;
	int opt, n_args;

	while ((opt = getopt_long(argc, argv, ":hn:", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'n':
			if (hvctl_parse_names(cmd, optarg, &names))
				return HVCTL_EXIT_USAGE;
			names_given = true;
			break;
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (optind >= argc)
		return hvctl_usage_error(cmd, "which words? (commands, features, params, vms, vcpus VM)");
	what = argv[optind];
	n_args = argc - optind - 1;
	if (names_given && strcmp(what, "features") != 0)
		return hvctl_usage_error(cmd, "--names goes with features");

	if (strcmp(what, "vcpus") == 0) {
		if (n_args != 1)
			return hvctl_usage_error(cmd, "vcpus takes one VM (an id or a name)");
		return complete_vms(cmd, argv[optind + 1]);
	}
	if (n_args > 0)
		return hvctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	if (strcmp(what, "commands") == 0)
		return complete_commands();
	if (strcmp(what, "features") == 0)
		return complete_features(names);
	if (strcmp(what, "params") == 0)
		return complete_params();
	if (strcmp(what, "vms") == 0)
		return complete_vms(cmd, NULL);
	return hvctl_usage_error(cmd, "unknown word list '%s' (commands, features, params, vms, vcpus VM)",
				 what);
}

const struct hvctl_command hvctl_cmd_complete = {
	.group = "complete",
	.name = NULL,
	.synopsis = "commands | features [--names linux|qemu] | params | vms | vcpus VM",
	.summary = "The words shell completion offers, one per line",
	.help =
		"For completion/hvctl, the bash completion: what this hvctl knows, so that\n"
		"completion never keeps lists of its own.\n"
		"\n"
		"  commands    every command, as 'hvctl --help' lists them (\"vm show\")\n"
		"  features    every named feature of the catalog\n"
		"  params      every K=V a --param takes: each parameter with the\n"
		"              canonical spelling of its values (kernel: every release\n"
		"              the model covers)\n"
		"  vms         one line per VM hvcapd has registered: its id and its name\n"
		"  vcpus VM    the vCPU ids of one VM (an id or a name)\n"
		"\n"
		"vms and vcpus ask hvcapd; when none answers (or VM does not exist) they\n"
		"print nothing, not even on stderr, and exit 1.\n"
		"\n"
		"  -n, --names STYLE  features: linux (default) or qemu spellings\n"
		"  -h, --help         show this help\n",
	.run = complete_run,
};
