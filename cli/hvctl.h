/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * hvctl: one file per subcommand (cmd-*.c), each exporting one const
 * struct hvctl_command that hvctl.c lists in its table.
 */

#include <stdio.h>

#include <libcaps/caps.h>

/* Exit status: DESIGN.md §8. */
#define HVCTL_EXIT_OK		0	/* success, accepted */
#define HVCTL_EXIT_FAILURE	1	/* rejected, bad input, failed request */
#define HVCTL_EXIT_USAGE	2	/* bad command line */

struct hvctl_command {
	const char *group;	/* "cpuid" */
	const char *name;	/* "decode"; NULL for a command that is its group ("watch") */
	const char *synopsis;	/* "[--json] FILE" */
	const char *summary;	/* one line for the command list */
	const char *help;	/* option descriptions for --help */
	/* argv[0] is the command name; getopt state is reset before the call. */
	int (*run)(int argc, char **argv);
};

extern const struct hvctl_command hvctl_cmd_cpuid_dump;
extern const struct hvctl_command hvctl_cmd_cpuid_decode;
extern const struct hvctl_command hvctl_cmd_host_probe;
extern const struct hvctl_command hvctl_cmd_host_model;
extern const struct hvctl_command hvctl_cmd_host_features;
extern const struct hvctl_command hvctl_cmd_policy_check;
extern const struct hvctl_command hvctl_cmd_policy_baseline;
extern const struct hvctl_command hvctl_cmd_policy_migrate_check;
extern const struct hvctl_command hvctl_cmd_host_show;
extern const struct hvctl_command hvctl_cmd_host_export;
extern const struct hvctl_command hvctl_cmd_host_reload;
extern const struct hvctl_command hvctl_cmd_vm_create;
extern const struct hvctl_command hvctl_cmd_vm_list;
extern const struct hvctl_command hvctl_cmd_vm_show;
extern const struct hvctl_command hvctl_cmd_vm_delete;
extern const struct hvctl_command hvctl_cmd_vm_add_vcpu;
extern const struct hvctl_command hvctl_cmd_vcpu_set_cpuid;
extern const struct hvctl_command hvctl_cmd_vcpu_set_apic_base;
extern const struct hvctl_command hvctl_cmd_vcpu_write_cr3;
extern const struct hvctl_command hvctl_cmd_vcpu_init;
extern const struct hvctl_command hvctl_cmd_vcpu_run;
extern const struct hvctl_command hvctl_cmd_vcpu_nested_run;
extern const struct hvctl_command hvctl_cmd_vcpu_nested_exit;
extern const struct hvctl_command hvctl_cmd_watch;
extern const struct hvctl_command hvctl_cmd_top;
extern const struct hvctl_command hvctl_cmd_complete;

/* The i-th command of hvctl's table, or NULL past its end. */
const struct hvctl_command *hvctl_command_at(size_t i);

/* "hvctl vm create", "hvctl watch": how messages name the command. */
const char *hvctl_who(const struct hvctl_command *cmd);

/* Print "hvctl GROUP [NAME]: message" and a --help hint; returns HVCTL_EXIT_USAGE. */
int hvctl_usage_error(const struct hvctl_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print the full help of one command to f. */
void hvctl_command_help(const struct hvctl_command *cmd, FILE *f);

/* Parse --names; a usage error for anything but linux/qemu. */
int hvctl_parse_names(const struct hvctl_command *cmd, const char *arg, enum caps_names *ret);

/* Report a getopt_long() error for argv (opterr = 0 mode). */
int hvctl_getopt_error(const struct hvctl_command *cmd, int opt, char **argv);
