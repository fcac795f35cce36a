/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl vm show: one VM and its vCPUs as the hypervisor core keeps them. */

#include <stdlib.h>

#include "online.h"
#include "output.h"

static void print_strings(const char *label, struct json_object *a)
{
	size_t n = a ? json_object_array_length(a) : 0;

	printf("%s", label);
	for (size_t i = 0; i < n; i++)
		printf(" %s", json_object_get_string(json_object_array_get_idx(a, i)));
	printf("%s\n", n ? "" : " none");
}

static void print_erap(const char *label, int64_t v)
{
	char buf[64];

	printf("%s%s\n", label, hvctl_erap_string(v, buf, sizeof(buf)));
}

static void print_vcpu(struct json_object *v, enum caps_names names)
{
	struct caps features;

	printf("vCPU %lld:\n", (long long)hvctl_json_int(v, "vcpu"));
	printf("  CPUID:          %lld entries%s\n", (long long)hvctl_json_int(v, "cpuid_entries"),
	       hvctl_json_bool(v, "cpuid_frozen") ? ", frozen (the vCPU has run)" : "");
	printf("  APIC base:      %s (%s%s)\n", hvctl_json_str(v, "apic_base"), hvctl_json_str(v, "apic_mode"),
	       hvctl_json_bool(v, "apicv_active") ? ", APICv active" : "");
	printf("  CR3:            %s%s\n", hvctl_json_str(v, "cr3"),
	       hvctl_json_bool(v, "rap_dirty") ? " (RAP dirty)" : "");
	print_erap("  erap_ctl:       ", hvctl_json_int(v, "erap_ctl"));
	if (hvctl_json_bool(v, "guest_mode"))
		print_erap("  in L2, vmcb02:  ", hvctl_json_int(v, "vmcb02_erap_ctl"));
	printf("  MAXPHYADDR:     %lld\n", (long long)hvctl_json_int(v, "maxphyaddr"));
	hvctl_json_features(hvctl_json_get(v, "features"), &features, NULL);
	printf("  features:       %u\n", caps_weight(&features));
	hvctl_print_features(&features, names);
}

static int vm_show_run(int argc, char **argv)
{
	const struct hvctl_command *cmd = &hvctl_cmd_vm_show;
	struct json_object *reply = NULL, *vm, *vcpus;
	bool json = false;
	char **pos;
	int r;

	r = hvctl_parse_plain(cmd, argc, argv, 1, &json, &pos);
	if (r)
		return r < 0 ? HVCTL_EXIT_OK : r;
	r = hvctl_vm_call(cmd, pos[0], "io.hvcap.Vm.Get", NULL, &reply, NULL);
	if (r)
		return r;
	if (json)
		return hvctl_print_reply_json(reply);
	vm = hvctl_json_get(reply, "vm");
	vcpus = hvctl_json_get(vm, "vcpus");
	printf("VM %lld '%s' (policy %s)\n", (long long)hvctl_json_int(vm, "vm"), hvctl_json_str(vm, "name"),
	       hvctl_json_str(vm, "policy_name"));
	printf("  APIC access memslot: %s%s\n", hvctl_json_str(vm, "apic_access_memslot"),
	       hvctl_json_bool(vm, "hybrid_avic") ? " (hybrid AVIC host)" : "");
	print_strings("  APICv inhibits:", hvctl_json_get(vm, "apicv_inhibits"));
	for (size_t i = 0; vcpus && i < json_object_array_length(vcpus); i++)
		print_vcpu(json_object_array_get_idx(vcpus, i), CAPS_NAMES_LINUX);
	json_object_put(reply);
	return HVCTL_EXIT_OK;
}

const struct hvctl_command hvctl_cmd_vm_show = {
	.group = "vm",
	.name = "show",
	.synopsis = "VM [--json]",
	.summary = "One VM and its vCPUs: CPUID, APIC mode, memslot, erap_ctl, features",
	.help =
		"VM is an id or a name.\n"
		"\n"
		"  -j, --json   the reply of io.hvcap.Vm.Get: {vm: {vm, name, policy_name,\n"
		"               apic_access_memslot, hybrid_avic, apicv_inhibits, vcpus}}\n"
		"  -h, --help   show this help\n",
	.run = vm_show_run,
};
