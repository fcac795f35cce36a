/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl top: hvcapd's VMs and vCPUs, live, read from the shared-memory control plane. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hvcap/hvcap.h>
#include <hvcore/vm.h>

#include "online.h"
#include "output.h"

/* VMs and vCPUs shown; the control plane may hold more (the rest is counted). */
#define TOP_MAX_VMS	4096
#define TOP_MAX_VCPUS	1024

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *memslot_name(uint32_t m)
{
	switch (m) {
	case HVCAP_CTL_MEMSLOT_NOT_ALLOCATED:
		return "not_allocated";
	case HVCAP_CTL_MEMSLOT_ENABLED:
		return "enabled";
	case HVCAP_CTL_MEMSLOT_INHIBITED:
		return "inhibited";
	}
	return "unknown";
}

static const char *apic_mode_name(uint32_t m)
{
	switch (m) {
	case HVCAP_CTL_APIC_DISABLED:
		return "disabled";
	case HVCAP_CTL_APIC_XAPIC:
		return "xapic";
	case HVCAP_CTL_APIC_X2APIC:
		return "x2apic";
	}
	return "unknown";
}

/*
 * The control file: --control, else $HVCAP_CONTROL, else beside the
 * socket hvctl would ask (DESIGN.md §6): its directory and "control".
 */
static int control_path(const char *given, char *buf, size_t size)
{
	char address[128], dir[128];
	const char *env = getenv(HVCAP_CONTROL_ENV);
	int r;

	if (given || (env && *env)) {
		snprintf(buf, size, "%s", given ? given : env);
		return 0;
	}
	r = proto_address_resolve(hvctl_address, address, sizeof(address));
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s", address + strlen("unix:"));
	snprintf(buf, size, "%s/control", dirname(dir));
	return 0;
}

/* A 64-bit value as io.hvcap.Vm.Get writes it: "0x" and lower-case hex, unpadded. */
static struct json_object *hex64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

/*
 * One frame as JSON: the host, and every VM with its vCPUs, each VM in the
 * shape of io.hvcap.Vm.Get's (plus control_page_offset per vCPU).
 */
static struct json_object *frame_json(struct hvcap_control *cp, const char *path, int *ret_r)
{
	static uint32_t vm_ids[TOP_MAX_VMS], vcpu_ids[TOP_MAX_VCPUS];
	struct hvcap_host_state *host = malloc(sizeof(*host));
	struct json_object *o = json_object_new_object(), *vms = json_object_new_array(), *h;
	size_t n_vms = 0;
	uint64_t updates = 0;
	int r;

	if (!host || !o || !vms) {
		r = -ENOMEM;
		goto fail;
	}
	r = hvcap_control_updates(cp, &updates);
	if (r == 0)
		r = hvcap_control_read_host(cp, host);
	if (r == 0)
		r = hvcap_control_list_vms(cp, vm_ids, TOP_MAX_VMS, &n_vms);
	if (r < 0)
		goto fail;
	h = json_object_new_object();
	json_object_object_add(h, "backend", json_object_new_string(host->backend == HVCAP_CTL_BACKEND_KVM ?
								    "kvm" : "model"));
	json_object_object_add(h, "fingerprint", json_object_new_string(host->fingerprint));
	json_object_object_add(h, "kernel_release", json_object_new_string(host->kernel_release));
	json_object_object_add(h, "vendor_module", json_object_new_string(host->vendor_module));
	json_object_object_add(h, "snp", json_object_new_boolean(host->flags & HVCAP_CTL_HOST_SNP));
	json_object_object_add(o, "control", json_object_new_string(path));
	json_object_object_add(o, "updates", json_object_new_int64((int64_t)updates));
	json_object_object_add(o, "host", h);
	for (size_t i = 0; i < n_vms && i < TOP_MAX_VMS; i++) {
		struct hvcap_vm_state vm;
		struct json_object *v, *inhibits, *vcpus;
		size_t n_vcpus = 0;

		r = hvcap_control_read_vm(cp, vm_ids[i], &vm);
		if (r == -ENOENT)
			continue;	/* deleted since the list was read */
		if (r == 0)
			r = hvcap_control_list_vcpus(cp, vm_ids[i], vcpu_ids, TOP_MAX_VCPUS, &n_vcpus);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			goto fail;
		v = json_object_new_object();
		inhibits = json_object_new_array();
		vcpus = json_object_new_array();
		json_object_object_add(v, "vm", json_object_new_int64(vm.vm_id));
		json_object_object_add(v, "name", json_object_new_string(vm.name));
		json_object_object_add(v, "policy_name", json_object_new_string(vm.policy_name));
		json_object_object_add(v, "apic_access_memslot",
				       json_object_new_string(memslot_name(vm.apic_access_memslot)));
		json_object_object_add(v, "hybrid_avic", json_object_new_boolean(vm.hybrid_avic));
		for (int b = 0; b < 32; b++) {
			const char *name = hv_apicv_inhibit_name((enum hv_apicv_inhibit)b);

			if (vm.apicv_inhibits & (1u << b))
				json_object_array_add(inhibits, json_object_new_string(name ? name : "unknown"));
		}
		json_object_object_add(v, "apicv_inhibits", inhibits);
		for (size_t k = 0; k < n_vcpus && k < TOP_MAX_VCPUS; k++) {
			struct hvcap_vcpu_state s;
			struct json_object *c, *features;

			r = hvcap_control_read_vcpu(cp, vm.vm_id, vcpu_ids[k], &s);
			if (r == -ENOENT)
				continue;
			if (r < 0) {
				json_object_put(v);
				json_object_put(vcpus);
				goto fail;
			}
			c = json_object_new_object();
			features = json_object_new_array();
			json_object_object_add(c, "vcpu", json_object_new_int64(s.vcpu_id));
			json_object_object_add(c, "cpuid_frozen", json_object_new_boolean(s.cpuid_frozen));
			json_object_object_add(c, "cpuid_entries", json_object_new_int64(s.n_cpuid_entries));
			json_object_object_add(c, "apic_base", hex64(s.apic_base));
			json_object_object_add(c, "apic_mode", json_object_new_string(apic_mode_name(s.apic_mode)));
			json_object_object_add(c, "apicv_active", json_object_new_boolean(s.apicv_active));
			json_object_object_add(c, "cr3", hex64(s.cr3));
			json_object_object_add(c, "rap_dirty", json_object_new_boolean(s.rap_dirty));
			json_object_object_add(c, "erap_ctl", json_object_new_int(s.erap_ctl));
			json_object_object_add(c, "vmcb02_erap_ctl", json_object_new_int(s.vmcb02_erap_ctl));
			json_object_object_add(c, "guest_mode", json_object_new_boolean(s.guest_mode));
			json_object_object_add(c, "maxphyaddr", json_object_new_int(s.maxphyaddr));
			for (uint32_t w = 0; w < s.n_cap_words && w < HVCAP_CTL_CAP_WORDS; w++)
				for (int b = 0; b < 32; b++) {
					const char *name = hvcap_feature_name((int)(w * 32 + (uint32_t)b));

					if ((s.cpu_caps[w] & (1u << b)) && name)
						json_object_array_add(features, json_object_new_string(name));
				}
			json_object_object_add(c, "features", features);
			json_object_object_add(c, "control_page_offset", json_object_new_int64((int64_t)s.control_page_offset));
			json_object_array_add(vcpus, c);
		}
		json_object_object_add(v, "vcpus", vcpus);
		json_object_array_add(vms, v);
	}
	json_object_object_add(o, "vms", vms);
	free(host);
	*ret_r = 0;
	return o;
fail:
	free(host);
	json_object_put(o);
	json_object_put(vms);
	*ret_r = r;
	return NULL;
}

/* One frame in words, from its JSON. */
static void print_frame(struct json_object *f, bool tty)
{
	struct json_object *host = hvctl_json_get(f, "host"), *vms = hvctl_json_get(f, "vms");
	size_t n = vms ? json_object_array_length(vms) : 0;
	char when[32];
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("hvcap top - %s  %s  host %s (%s, %s%s)  %zu VM%s  updates %lld\n", when,
	       hvctl_json_str(f, "control"), hvctl_json_str(host, "fingerprint"), hvctl_json_str(host, "backend"),
	       hvctl_json_str(host, "vendor_module"), hvctl_json_bool(host, "snp") ? ", SNP" : "", n,
	       n == 1 ? "" : "s", (long long)hvctl_json_int(f, "updates"));
	printf("\n%6s %-24s %5s  %-13s %s\n", "VM", "NAME", "VCPUS", "MEMSLOT", "APICV INHIBITS");
	for (size_t i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);
		struct json_object *inhibits = hvctl_json_get(vm, "apicv_inhibits");
		struct json_object *vcpus = hvctl_json_get(vm, "vcpus");
		size_t n_vcpus = vcpus ? json_object_array_length(vcpus) : 0;

		printf("%6lld %-24s %5zu  %-13s", (long long)hvctl_json_int(vm, "vm"), hvctl_json_str(vm, "name"),
		       n_vcpus, hvctl_json_str(vm, "apic_access_memslot"));
		for (size_t k = 0; inhibits && k < json_object_array_length(inhibits); k++)
			printf(" %s", json_object_get_string(json_object_array_get_idx(inhibits, k)));
		printf("%s\n", inhibits && json_object_array_length(inhibits) ? "" : " -");
		if (n_vcpus)
			printf("%14s %-6s %-8s %-5s %-6s %-3s %-18s %s\n", "VCPU", "CPUID", "APIC", "ERAP", "VMCB02",
			       "L2", "CR3", "FEATURES");
		for (size_t k = 0; k < n_vcpus; k++) {
			struct json_object *c = json_object_array_get_idx(vcpus, k);
			struct json_object *features = hvctl_json_get(c, "features");

			printf("%14lld %-6s %-8s 0x%02llx  0x%02llx   %-3s %-18s %zu\n", (long long)hvctl_json_int(c, "vcpu"),
			       hvctl_json_bool(c, "cpuid_frozen") ? "frozen" : "open", hvctl_json_str(c, "apic_mode"),
			       (long long)hvctl_json_int(c, "erap_ctl"), (long long)hvctl_json_int(c, "vmcb02_erap_ctl"),
			       hvctl_json_bool(c, "guest_mode") ? "yes" : "no", hvctl_json_str(c, "cr3"),
			       features ? json_object_array_length(features) : 0);
		}
	}
	fflush(stdout);
}

static int top_error(const struct hvctl_command *cmd, const char *path, int r)
{
	if (r == -ENOENT)
		fprintf(stderr, "%s: %s: no control plane (is hvcapd running? --control PATH or %s name another)\n",
			hvctl_who(cmd), path, HVCAP_CONTROL_ENV);
	else if (r == -ESTALE)
		fprintf(stderr, "%s: %s: hvcapd has stopped\n", hvctl_who(cmd), path);
	else if (r == -EPROTONOSUPPORT)
		fprintf(stderr, "%s: %s: written by an hvcapd with another ABI\n", hvctl_who(cmd), path);
	else if (r == -EBADMSG)
		fprintf(stderr, "%s: %s: not a valid control file\n", hvctl_who(cmd), path);
	else
		fprintf(stderr, "%s: %s: %s\n", hvctl_who(cmd), path, strerror(-r));
	return HVCTL_EXIT_FAILURE;
}

static int top_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help",     no_argument,       NULL, 'h' },
		{ "json",     no_argument,       NULL, 'j' },
		{ "once",     no_argument,       NULL, '1' },
		{ "control",  required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ 0 }
	};
	const struct hvctl_command *cmd = &hvctl_cmd_top;
	struct hvcap_control *cp = NULL;
	const char *given = NULL;
	bool json = false, once = false, tty;
	uint64_t interval_ms = 1000, last = UINT64_MAX;
	char path[256];
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":hj1c:i:", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			hvctl_command_help(cmd, stdout);
			return HVCTL_EXIT_OK;
		case 'j':
			json = true;
			break;
		case '1':
			once = true;
			break;
		case 'c':
			given = optarg;
			break;
		case 'i': {
			char *end;
			double s;

			errno = 0;
			s = strtod(optarg, &end);
			if (errno || *end || !(s >= 0.1 && s <= 3600))
				return hvctl_usage_error(cmd, "--interval '%s': seconds from 0.1 to 3600", optarg);
			interval_ms = (uint64_t)(s * 1000);
			break;
		}
		default:
			return hvctl_getopt_error(cmd, opt, argv);
		}
	}
	if (optind < argc)
		return hvctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	r = control_path(given, path, sizeof(path));
	if (r < 0)
		return hvctl_usage_error(cmd, "bad address: %s", strerror(-r));

	tty = !json && isatty(STDOUT_FILENO);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop) {
		struct json_object *f;
		uint64_t updates = 0;

		if (!cp) {
			r = hvcap_control_open(path, &cp);
			if (r < 0) {
				cp = NULL;
				if (once || r != -ESTALE)
					return top_error(cmd, path, r);
			}
		}
		/* Redraw when something changed, and every interval in any case. */
		r = cp ? hvcap_control_updates(cp, &updates) : -ESTALE;
		if (r == 0 && (updates != last || once || !json)) {
			f = frame_json(cp, path, &r);
			if (f) {
				last = updates;
				if (json)
					printf("%s\n", json_object_to_json_string_ext(f, (once ? JSON_C_TO_STRING_PRETTY |
								JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN) |
								JSON_C_TO_STRING_NOSLASHESCAPE));
				else
					print_frame(f, tty);
				fflush(stdout);
				json_object_put(f);
			}
		}
		if (r == -ESTALE) {
			/* hvcapd stopped or restarted: a new file may come; open it again. */
			hvcap_control_close(cp);
			cp = NULL;
			if (once)
				return top_error(cmd, path, r);
		} else if (r < 0) {
			hvcap_control_close(cp);
			return top_error(cmd, path, r);
		}
		if (once)
			break;
		for (uint64_t waited = 0; waited < interval_ms && !stop; waited += 100) {
			uint64_t now = 0;

			usleep(100 * 1000);
			if (cp && hvcap_control_updates(cp, &now) == 0 && now != last)
				break;
		}
	}
	hvcap_control_close(cp);
	return HVCTL_EXIT_OK;
}

const struct hvctl_command hvctl_cmd_top = {
	.group = "top",
	.name = NULL,
	.synopsis = "[--once] [--json] [--control PATH] [--interval SECONDS]",
	.summary = "A live view of hvcapd's VMs and vCPUs, read from the shared-memory control plane",
	.help =
		"Reads the control plane hvcapd publishes (no socket, no system call per\n"
		"query): per VM its APIC access memslot and APICv inhibits, per vCPU whether\n"
		"its CPUID is frozen, its APIC mode, erap_ctl (vmcb01, and vmcb02 in L2), CR3\n"
		"and how many features the guest has.  Refreshes every interval and when\n"
		"hvcapd publishes a change, until interrupted; follows hvcapd across\n"
		"restarts.\n"
		"\n"
		"  -c, --control PATH    the control file (default: $HVCAP_CONTROL, else\n"
		"                        'control' beside hvcapd's socket: /run/hvcap/control\n"
		"                        for root)\n"
		"  -1, --once            print one view and exit\n"
		"  -j, --json            JSON: with --once one object {control, updates, host,\n"
		"                        vms: [{vm, name, ..., vcpus: [{vcpu, cpuid_frozen,\n"
		"                        apic_mode, erap_ctl, features, ...}]}]}; without,\n"
		"                        one line per change\n"
		"  -i, --interval SECS   refresh period (default 1)\n"
		"  -h, --help            show this help\n",
	.run = top_run,
};
