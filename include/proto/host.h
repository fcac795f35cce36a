/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * io.hvcap.Host's types as JSON, written alike by hvcapd's replies and
 * hvctl's offline --json output.  The writers produce exactly the IDL's
 * HostRecord and FeatureStatus (proto/varlink/io.hvcap.Host.varlink): a
 * unit test checks them with proto_idl_check_output().  Policies decoded
 * from a call's parameters are in proto/policy.h (proto_policy_from_json()).
 */

#include <stdbool.h>
#include <stddef.h>

#include <libcaps/caps.h>
#include <libcaps/host.h>
#include <proto/policy.h>

struct json_object;

/*
 * What hvcore derives from a host for its HostRecord, which proto cannot
 * compute itself (it may not use hvcore): the callers fill it from
 * hv_x86_64_level() of the record's features and from the host model's
 * hv_host_is_avic_enabled() / hv_host_is_x2avic_enabled().
 */
struct proto_host_derived {
	int level;	/* x86-64 psABI level of KVM's supported features, 0..4 */
	bool avic;	/* the vendor module uses AVIC */
	bool x2avic;	/* ... in x2APIC mode too */
};

/*
 * A host record as HostRecord (a new reference): backend, kernel_release,
 * vendor_module, api_version, microcode ("0x..."; left out when unknown),
 * fingerprint, level, avic and x2avic (from d), params [{module, name,
 * value}], features (names in the names style; unnamed bits only appear in
 * cpuid), cpuid and emulated_cpuid [{function, index, flags, eax, ebx,
 * ecx, edx}], msrs [{index, value: "0x%016x"}], kvm_caps [{cap, name,
 * value}].  NULL with errno ENOMEM, or EINVAL for a record no probe or
 * model makes (a count past its array) or a level outside 0..4.
 */
struct json_object *proto_host_record_to_json(const struct caps_host_record *r,
					      const struct proto_host_derived *d,
					      enum caps_names names);

struct proto_error;

/*
 * The HostRecord in v: v itself when it has backend, fingerprint and
 * cpuid, or v's "host" when that is an object (an export of `hvctl host
 * export --format json`, or Host.Describe's reply).  NULL otherwise: v
 * is no record (a raw CPUID dump in hvcap JSON has none of these).
 */
struct json_object *proto_host_record_unwrap(struct json_object *v);

/*
 * Read a HostRecord (proto/host-record-read.c) as proto_host_record_to_json()
 * writes it into *ret, and level, avic and x2avic into *derived (may be
 * NULL).  Strict: every key of the IDL type is required but microcode
 * (null or absent when unknown), unknown keys and features, wrong types,
 * integers out of range and arrays past the record's capacity
 * (CAPS_CPUID_MAX_ENTRIES, CAPS_MSR_MAX, CAPS_PARAM_MAX, CAPS_KVM_CAP_MAX)
 * are refused; err names the path at fault, path naming v.  Features are
 * taken as listed, in either spelling; kvm_caps' names are checked but not
 * kept (NULL: a record's names are static).  0, -EINVAL, -E2BIG (a count
 * past its array) or -ENOMEM; *ret is untouched on failure.
 */
int proto_host_record_from_json(struct json_object *v, const char *path, struct caps_host_record *ret,
				struct proto_host_derived *derived, struct proto_error *err);

/* A feature an export says KVM withholds on its host, and why (borrowed from the JSON). */
struct proto_host_withheld {
	int feature;		/* catalog id, or -1: a name this catalog lacks */
	const char *reason;	/* the exporting host's reason name: not_in_host_cpu, ... */
	const char *detail;	/* or NULL */
};

/*
 * A host as `hvctl host export --format json` exports it: the HostRecord
 * under "host", the host's name, and "withheld" (the features the host
 * CPU has and its KVM does not offer, with that host's reasons); or a
 * bare HostRecord, or Host.Describe's reply, which have neither.
 */
struct proto_host_export {
	struct caps_host_record record;
	struct proto_host_derived derived;
	const char *hostname;	/* borrowed from the JSON; NULL when absent or "" */
	bool inventory;		/* an export's inventory: withheld lists every feature withheld */
	size_t n_withheld;
	struct proto_host_withheld withheld[CAPS_NR_FEATURE_IDS];
};

/*
 * Read one (proto_host_record_unwrap(), proto_host_record_from_json()),
 * strictly: hostname a string, withheld an array of {name, reason,
 * detail: string or null}; a feature name the catalog lacks is kept as
 * -1 (an export from a newer hvcap), not refused; other members of an
 * export (source, level, features, ...) are the record's again and not
 * read.  Strings are borrowed from v, which must outlive ret.  0,
 * -EINVAL (err names the path, path naming v), -E2BIG, -ENOMEM.
 */
int proto_host_export_from_json(struct json_object *v, const char *path, struct proto_host_export *ret,
				struct proto_error *err);

/*
 * CPUID entries as [CpuidEntry] (a new reference): {function, index,
 * flags, eax, ebx, ecx, edx} each, in order.  NULL with errno ENOMEM.
 */
struct json_object *proto_cpuid_to_json(const struct caps_cpuid *c);
/* The same array written as text (proto/json-writer.h). */
struct proto_json_writer;
void proto_cpuid_write(struct proto_json_writer *w, const struct caps_cpuid *c);

/*
 * One feature as FeatureStatus (a new reference): {name, qemu?, host, kvm,
 * reason, detail?, notes}.  qemu and detail are left out when NULL; notes
 * may be NULL when n_notes is 0.  NULL with errno ENOMEM, or EINVAL for a
 * NULL name or reason.
 */
struct json_object *proto_feature_status_to_json(const char *name, const char *qemu, bool host,
						 bool kvm, const char *reason, const char *detail,
						 const char *const *notes, size_t n_notes);
