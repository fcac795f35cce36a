/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl: the command line of hvcap. */

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hvctl.h"
#include "online.h"

static const struct hvctl_command *const commands[] = {
	&hvctl_cmd_host_show,
	&hvctl_cmd_host_features,
	&hvctl_cmd_host_export,
	&hvctl_cmd_host_reload,
	&hvctl_cmd_host_probe,
	&hvctl_cmd_host_model,
	&hvctl_cmd_policy_check,
	&hvctl_cmd_policy_baseline,
	&hvctl_cmd_policy_migrate_check,
	&hvctl_cmd_vm_create,
	&hvctl_cmd_vm_list,
	&hvctl_cmd_vm_show,
	&hvctl_cmd_vm_delete,
	&hvctl_cmd_vm_add_vcpu,
	&hvctl_cmd_vcpu_set_cpuid,
	&hvctl_cmd_vcpu_set_apic_base,
	&hvctl_cmd_vcpu_write_cr3,
	&hvctl_cmd_vcpu_init,
	&hvctl_cmd_vcpu_run,
	&hvctl_cmd_vcpu_nested_run,
	&hvctl_cmd_vcpu_nested_exit,
	&hvctl_cmd_watch,
	&hvctl_cmd_top,
	&hvctl_cmd_cpuid_dump,
	&hvctl_cmd_cpuid_decode,
	&hvctl_cmd_complete,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hvctl [--address unix:PATH] [--help] [--version] COMMAND [ARGS...]\n"
		"\n"
		"Ask what a KVM x86 host offers guests, and why.\n"
		"\n"
		"Commands (host show|reload, vm, vcpu and watch ask hvcapd; top reads its\n"
		"control plane; host features|export and policy check ask it too, and\n"
		"without it read this machine's KVM directly):\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const char *name = hvctl_who(commands[i]) + strlen("hvctl ");

		fprintf(f, "  %-21s %s\n", name, commands[i]->summary);
	}
	fprintf(f,
		"\n"
		"  --address unix:PATH   hvcapd's socket (default: $%s, else\n"
		"                        %s for root, else\n"
		"                        $XDG_RUNTIME_DIR/hvcap/io.hvcap)\n"
		"\n"
		"Run 'hvctl COMMAND --help' for the options of one command.\n"
		"Exit status: 0 success, 1 failure or rejection, 2 usage error.\n",
		PROTO_ADDRESS_ENV, &PROTO_ADDRESS_SYSTEM[strlen("unix:")]);
}

const struct hvctl_command *hvctl_command_at(size_t i)
{
	return i < N_COMMANDS ? commands[i] : NULL;
}

const char *hvctl_who(const struct hvctl_command *cmd)
{
	static char buf[64];

	if (cmd->name)
		snprintf(buf, sizeof(buf), "hvctl %s %s", cmd->group, cmd->name);
	else
		snprintf(buf, sizeof(buf), "hvctl %s", cmd->group);
	return buf;
}

void hvctl_command_help(const struct hvctl_command *cmd, FILE *f)
{
	fprintf(f, "Usage: %s %s\n\n%s.\n", hvctl_who(cmd), cmd->synopsis, cmd->summary);
	if (cmd->help && *cmd->help)
		fprintf(f, "\n%s", cmd->help);
}

int hvctl_usage_error(const struct hvctl_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", hvctl_who(cmd));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", hvctl_who(cmd));
	return HVCTL_EXIT_USAGE;
}

int hvctl_getopt_error(const struct hvctl_command *cmd, int opt, char **argv)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		return hvctl_usage_error(cmd, "option '%s' needs an argument", arg);
	return hvctl_usage_error(cmd, "unknown option '%s'", arg);
}

int hvctl_parse_names(const struct hvctl_command *cmd, const char *arg, enum caps_names *ret)
{
	if (strcmp(arg, "linux") == 0)
		*ret = CAPS_NAMES_LINUX;
	else if (strcmp(arg, "qemu") == 0)
		*ret = CAPS_NAMES_QEMU;
	else
		return hvctl_usage_error(cmd, "unknown name style '%s' (linux, qemu)", arg);
	return 0;
}

static void group_usage(FILE *f, const char *group)
{
	fprintf(f, "Usage: hvctl %s SUBCOMMAND [ARGS...]\n\nSubcommands:\n", group);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i]->group, group) == 0)
			fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nRun 'hvctl %s SUBCOMMAND --help' for its options.\n", group);
}

int main(int argc, char **argv)
{
	bool known_group = false;

	/* Global options come before the command. */
	while (argc >= 2 && strncmp(argv[1], "--address", 9) == 0) {
		if (argv[1][9] == '=') {
			hvctl_address = argv[1] + 10;
		} else if (argv[1][9] == '\0' && argc >= 3) {
			hvctl_address = argv[2];
			argc--;
			argv++;
		} else {
			fprintf(stderr, "hvctl: option '--address' needs an argument (unix:PATH)\n");
			return HVCTL_EXIT_USAGE;
		}
		argc--;
		argv++;
	}
	if (argc < 2) {
		usage(stderr);
		return HVCTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return HVCTL_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("hvctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return HVCTL_EXIT_OK;
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "hvctl: unknown option '%s'\n", argv[1]);
		usage(stderr);
		return HVCTL_EXIT_USAGE;
	}

	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct hvctl_command *cmd = commands[i];

		if (strcmp(cmd->group, argv[1]) != 0)
			continue;
		known_group = true;
		/* getopt state is global: reset it for the command's own parse. */
		optind = 0;
		opterr = 0;
		if (!cmd->name)
			return cmd->run(argc - 1, argv + 1);
		if (argc < 3 || strcmp(cmd->name, argv[2]) != 0)
			continue;
		return cmd->run(argc - 2, argv + 2);
	}

	if (!known_group) {
		fprintf(stderr, "hvctl: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return HVCTL_EXIT_USAGE;
	}
	if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		group_usage(stdout, argv[1]);
		return HVCTL_EXIT_OK;
	}
	if (argc >= 3)
		fprintf(stderr, "hvctl %s: unknown subcommand '%s'\n", argv[1], argv[2]);
	group_usage(stderr, argv[1]);
	return HVCTL_EXIT_USAGE;
}
