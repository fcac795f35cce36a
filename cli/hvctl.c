/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hvctl: the command line of hvcap. */

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hvctl.h"

static const struct hvctl_command *const commands[] = {
	&hvctl_cmd_host_probe,
	&hvctl_cmd_host_model,
	&hvctl_cmd_host_features,
	&hvctl_cmd_policy_check,
	&hvctl_cmd_cpuid_dump,
	&hvctl_cmd_cpuid_decode,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hvctl [--help] [--version] COMMAND [ARGS...]\n"
		"\n"
		"Ask what a KVM x86 host offers guests, and why.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s %s", commands[i]->group, commands[i]->name);
		fprintf(f, "  %-16s %s\n", name, commands[i]->summary);
	}
	fprintf(f,
		"\n"
		"Run 'hvctl COMMAND --help' for the options of one command.\n"
		"Exit status: 0 success, 1 failure or rejection, 2 usage error.\n");
}

void hvctl_command_help(const struct hvctl_command *cmd, FILE *f)
{
	fprintf(f, "Usage: hvctl %s %s %s\n\n%s.\n", cmd->group, cmd->name, cmd->synopsis,
		cmd->summary);
	if (cmd->help && *cmd->help)
		fprintf(f, "\n%s", cmd->help);
}

int hvctl_usage_error(const struct hvctl_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hvctl %s %s: ", cmd->group, cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'hvctl %s %s --help'.\n", cmd->group, cmd->name);
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
			fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nRun 'hvctl %s SUBCOMMAND --help' for its options.\n", group);
}

int main(int argc, char **argv)
{
	bool known_group = false;

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
		if (argc < 3 || strcmp(cmd->name, argv[2]) != 0)
			continue;
		/* getopt state is global: reset it for the command's own parse. */
		optind = 0;
		opterr = 0;
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
