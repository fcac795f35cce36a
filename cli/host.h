/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A host as the host commands see it: the KVM probe of this machine or
 * hvcore's model of a described host, with every feature's status.
 */

#include <stdbool.h>

#include <hvcore/model.h>
#include <hvcore/policy.h>
#include <libcaps/host.h>
#include <proto/host.h>

#include "hvctl.h"

struct hvctl_host {
	const char *source;		/* "this machine" or the dump's path */
	struct caps_dump raw;		/* the host's raw CPUID */
	struct caps_kernel_flags kernel;
	bool have_kernel;
	const struct caps_host_record *record;	/* probe.record or model.record */
	struct caps_host_record probe;
	struct hv_model_result model;	/* the model; for a probe, of this machine */
	struct hv_host_params params;	/* the model's parameters */
	struct hv_feature_status status[CAPS_NR_FEATURE_IDS];
	/* A host record read from a file (hvctl_host_load()): KVM's own answer on another host. */
	struct json_object *json;	/* the file's JSON: the reasons' details borrow from it */
	const char *hostname;		/* the export's, or NULL */
	struct proto_host_derived derived;
	struct hv_policy_target record_target;
};

/* Collected --param K=V options: each has a '=' after a key of 1..63 bytes. */
#define HVCTL_PARAM_KEY_MAX 64

struct hvctl_params {
	const char *kv[64];
	size_t n;
};

/* Remember one --param; a usage error for anything but KEY=VALUE, or past 64. */
int hvctl_params_add(const struct hvctl_command *cmd, struct hvctl_params *ps, const char *kv);

/*
 * The options the commands that model a host share: --help, --json,
 * --names and --param.  A command's getopt_long() loop hands here every
 * option it does not handle itself, getopt's ':' and '?' too; NULL for
 * what it does not take (its optstring never gives it those letters).
 * Returns HVCTL_OPTION_TAKEN to go on, or the exit status to return now:
 * HVCTL_EXIT_OK after --help, HVCTL_EXIT_USAGE after a usage error.
 */
#define HVCTL_OPTION_TAKEN	(-1)

int hvctl_host_option(const struct hvctl_command *cmd, int opt, char **argv, bool *json,
		      enum caps_names *names, struct hvctl_params *params);

/*
 * Model a host described by a dump and --param options.  Bad parameters
 * are usage errors (HVCTL_EXIT_USAGE); a bad dump or an unmodellable
 * host is a failure (HVCTL_EXIT_FAILURE).  0 on success.
 */
int hvctl_host_model(const struct hvctl_command *cmd, struct hvctl_host *h, const char *dump,
		     const struct hvctl_params *ps);

/*
 * A host of a cross-host command (baseline, migrate-check): FILE is a
 * host record, taken as it is (a JSON object with a HostRecord under
 * "host", as `hvctl host export --format json` writes it or Host.Describe
 * answers, or the HostRecord itself; the export's "withheld" gives the
 * reasons; no model, no --param), or a raw dump modelled with the
 * parameters as hvctl_host_model() does.  0 or an exit status (said);
 * release with hvctl_host_done().
 */
int hvctl_host_load(const struct hvctl_command *cmd, struct hvctl_host *h, const char *path,
		    const struct hvctl_params *ps);
void hvctl_host_done(struct hvctl_host *h);

/*
 * The file's JSON when it is an object holding a host record: 1 with *ret
 * (a new reference); 0 for anything else (a raw dump, or a file that does
 * not read: the dump reader says why); -ENOMEM.
 */
int hvctl_host_record_read(const char *path, struct json_object **ret);

/*
 * Probe this machine's KVM and explain each unsupported feature with the
 * model of this machine.  -errno with a message printed when KVM is not
 * usable, so that callers can fall back to hvctl_host_model_self().
 */
int hvctl_host_probe(const struct hvctl_command *cmd, struct hvctl_host *h, bool quiet);

/* The model of this machine's own CPU and kernel (no /dev/kvm needed). */
int hvctl_host_model_self(const struct hvctl_command *cmd, struct hvctl_host *h);

/*
 * This machine: its KVM, or when /dev/kvm is not usable (said on stderr)
 * the model of its CPU.  0 or an exit status.
 */
int hvctl_host_this_machine(const struct hvctl_command *cmd, struct hvctl_host *h);

/*
 * What a policy is evaluated against: the record, the reasons, and for the
 * vCPU model the host with KVM's own features (the probe's when probed).
 */
void hvctl_host_policy_target(const struct hvctl_host *h, struct hv_policy_target *ret);

/* What the HostRecord carries beyond the record: the x86-64 level, AVIC and x2AVIC. */
void hvctl_host_derived(const struct hvctl_host *h, struct proto_host_derived *ret);

/*
 * The offline answer in the shape of io.hvcap.Host.GetCapabilities
 * (fingerprint and features [FeatureStatus]: those the host CPU has or KVM
 * supports, or with all every catalog feature), plus backend, source and
 * vendor_module.  NULL when out of memory.
 */
struct json_object *hvctl_host_capabilities_json(const struct hvctl_host *h, bool all);

/* Print the host record: a summary and the supported features, or JSON. */
int hvctl_host_print(const struct hvctl_host *h, enum caps_names names, bool json);
