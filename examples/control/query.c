/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * query: which vCPUs of the VMs hvcapd runs have a CPU feature?  Reads
 * hvcapd's shared-memory control plane with libhvcap, without a system
 * call per question.
 *
 *   cc -o query query.c $(pkg-config --cflags --libs hvcap)
 *   ./query avx2                  # $HVCAP_CONTROL, else hvcapd's default file
 *   ./query eraps /run/hvcap/control
 *
 * Exit status: 0, 1 when the control plane cannot be read, 2 for a usage
 * error or an unknown feature.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvcap/hvcap.h>

static const char *yes_no(int r)
{
	return r > 0 ? "yes" : r == 0 ? "no" : strerror(-r);
}

/* The ids a list function returns, however many there are: count, then fetch. */
static int list_vcpus(struct hvcap_control *cp, uint32_t vm, uint32_t **ret, size_t *ret_n)
{
	uint32_t *ids = NULL;
	size_t n = 0, got;
	int r;

	for (;;) {
		r = hvcap_control_list_vcpus(cp, vm, ids, n, &got);
		if (r < 0 || got <= n)
			break;
		/* hvcapd added vCPUs since the last call: ask again with room for them. */
		free(ids);
		n = got;
		ids = calloc(n, sizeof(*ids));
		if (!ids)
			return -ENOMEM;
	}
	if (r < 0) {
		free(ids);
		return r;
	}
	*ret = ids;
	*ret_n = got;
	return 0;
}

int main(int argc, char **argv)
{
	struct hvcap_control *cp;
	static struct hvcap_host_state host;	/* 44 KiB: not on the stack */
	uint32_t *vms = NULL;
	size_t n_vms = 0, got;
	int feature, r;
	const char *name;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s FEATURE [CONTROL_FILE]\n", argv[0]);
		return 2;
	}
	feature = hvcap_feature_lookup(argv[1]);
	if (feature < 0) {
		fprintf(stderr, "%s: unknown feature '%s'\n", argv[0], argv[1]);
		return 2;
	}
	name = hvcap_feature_name(feature);

	r = hvcap_control_open(argc == 3 ? argv[2] : NULL, &cp);
	if (r < 0) {
		char path[4096] = "?";

		hvcap_control_path_resolve(argc == 3 ? argv[2] : NULL, path, sizeof(path));
		fprintf(stderr, "%s: %s: %s\n", argv[0], path,
			r == -ESTALE ? "hvcapd has stopped" : r == -EAGAIN ? "hvcapd is starting" : strerror(-r));
		return 1;
	}

	r = hvcap_control_read_host(cp, &host);
	if (r < 0)
		goto fail;
	printf("host: fingerprint %s\n", host.fingerprint);
	printf("host: %s: cpu %s, kvm %s\n", name, yes_no(hvcap_control_host_cpu_has(cp, feature)),
	       yes_no(hvcap_control_host_cap_has(cp, feature)));

	for (;;) {
		r = hvcap_control_list_vms(cp, vms, n_vms, &got);
		if (r < 0 || got <= n_vms)
			break;
		free(vms);
		n_vms = got;
		vms = calloc(n_vms, sizeof(*vms));
		if (!vms) {
			r = -ENOMEM;
			break;
		}
	}
	if (r < 0)
		goto fail;

	for (size_t i = 0; i < got; i++) {
		struct hvcap_vm_state vm;
		uint32_t *vcpus = NULL;
		size_t n_vcpus = 0;

		/* A VM deleted since the list was taken is -ENOENT: skip it. */
		r = hvcap_control_read_vm(cp, vms[i], &vm);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			goto fail;
		r = list_vcpus(cp, vms[i], &vcpus, &n_vcpus);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			goto fail;
		if (n_vcpus == 0)
			printf("vm %" PRIu32 " %s: no vcpus\n", vm.vm_id, vm.name);
		for (size_t k = 0; k < n_vcpus; k++)
			printf("vm %" PRIu32 " %s: vcpu %" PRIu32 " %s %s\n", vm.vm_id, vm.name, vcpus[k], name,
			       yes_no(hvcap_control_guest_cpu_cap_has(cp, vm.vm_id, vcpus[k], feature)));
		free(vcpus);
	}
	free(vms);
	hvcap_control_close(cp);
	return 0;

fail:
	fprintf(stderr, "%s: %s\n", argv[0], r == -ESTALE ? "hvcapd has stopped" : strerror(-r));
	free(vms);
	hvcap_control_close(cp);
	return 1;
}
