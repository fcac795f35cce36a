/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The method table: every Varlink method hvcapd serves, one const entry
 * per method-*.c file.  Adding a method is its file plus a line here; the
 * server refuses to start when an entry names a method no embedded IDL
 * declares, and answers MethodNotImplemented for IDL methods missing here.
 */

#include <string.h>

#include "daemon.h"

extern const struct method method_service_get_info;
extern const struct method method_service_get_interface_description;

extern const struct method method_host_describe;
extern const struct method method_host_get_capabilities;
extern const struct method method_host_reload;

extern const struct method method_policy_validate;
extern const struct method method_policy_compare;
extern const struct method method_policy_baseline;

extern const struct method method_vm_create;
extern const struct method method_vm_list;
extern const struct method method_vm_get;
extern const struct method method_vm_delete;
extern const struct method method_vm_add_vcpu;
extern const struct method method_vm_set_cpuid;
extern const struct method method_vm_set_apic_base;
extern const struct method method_vm_write_cr3;
extern const struct method method_vm_init;
extern const struct method method_vm_run;
extern const struct method method_vm_nested_run;
extern const struct method method_vm_nested_exit;
extern const struct method method_vm_watch;

const struct method *const hvcapd_methods[] = {
	&method_service_get_info,
	&method_service_get_interface_description,

	&method_host_describe,
	&method_host_get_capabilities,
	&method_host_reload,

	&method_policy_validate,
	&method_policy_compare,
	&method_policy_baseline,

	&method_vm_create,
	&method_vm_list,
	&method_vm_get,
	&method_vm_delete,
	&method_vm_add_vcpu,
	&method_vm_set_cpuid,
	&method_vm_set_apic_base,
	&method_vm_write_cr3,
	&method_vm_init,
	&method_vm_run,
	&method_vm_nested_run,
	&method_vm_nested_exit,
	&method_vm_watch,
};

const size_t hvcapd_method_count = sizeof(hvcapd_methods) / sizeof(hvcapd_methods[0]);

const struct method *hvcapd_method_find(const char *name)
{
	for (size_t i = 0; i < hvcapd_method_count; i++)
		if (strcmp(hvcapd_methods[i]->name, name) == 0)
			return hvcapd_methods[i];
	return NULL;
}
