/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.hvcap.Vm.Delete (privileged): forget a VM, its state file first. */

#include <errno.h>
#include <stdio.h>

#include "hvcapd-internal.h"

struct params {
	uint32_t vm;
};

static const struct proto_field fields[] = {
	HVCAPD_FIELD_VM(struct params, vm),
	{ .name = NULL },
};

static int vm_delete(struct request *req, struct json_object *parameters)
{
	struct hvcapd *d = request_daemon(req);
	struct params p = { 0 };
	struct hvcapd_vm *vm;
	char name[HVCAPD_MAX_NAME + 1];
	int r;

	r = hvcapd_decode(req, fields, parameters, &p);
	if (r)
		return r < 0 ? r : 0;
	vm = hvcapd_vm_or_reply(req, p.vm, &r);
	if (!vm)
		return r;
	/* The file goes first: a VM that stays on disk stays in memory too. */
	r = hvcapd_state_remove_vm(d, vm->id);
	if (r < 0)
		return r;
	snprintf(name, sizeof(name), "%s", vm->name);
	hvcapd_registry_remove(hvcapd_registry(d), vm);
	hvcapd_vm_free(vm);
	hvcapd_event(d, "vm_deleted", p.vm, name, NULL, NULL);
	return request_reply(req, NULL);
}

const struct method method_vm_delete = {
	.name = "io.hvcap.Vm.Delete",
	.flags = METHOD_PRIVILEGED | METHOD_MUTATES,
	.handler = vm_delete,
};
