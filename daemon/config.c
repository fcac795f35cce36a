/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The configuration file (--config): "key = value" lines, blank lines and
 * lines starting with '#'.  A mistake stops the start with "FILE:LINE:
 * message": a daemon that runs with half its configuration is worse than
 * one that does not start.  Limits may be lowered below (and, for the
 * connection counts and timeouts, raised above) their defaults within
 * the ranges below.
 */

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* A longer line is a mistake, not a configuration. */
#define CONFIG_LINE_MAX 4096

enum config_key_type {
	CONFIG_STRING,
	CONFIG_GROUP,
	CONFIG_HOST,
	CONFIG_PARAM,
	CONFIG_LOG_LEVEL,
	CONFIG_SIZE,
	CONFIG_UNSIGNED,
};

struct config_key {
	const char *name;
	enum config_key_type type;
	size_t offset;		/* in struct hvcapd_config */
	unsigned cli_flag;	/* CONFIG_SET_* the command line can set, or 0 */
	uint64_t min, max;	/* CONFIG_SIZE and CONFIG_UNSIGNED */
};

#define CFG(member) offsetof(struct hvcapd_config, member)

static const struct config_key config_keys[] = {
	{ "admin_group", CONFIG_GROUP, CFG(admin_group), CONFIG_SET_ADMIN_GROUP, 0, 0 },
	{ "host", CONFIG_HOST, CFG(host), CONFIG_SET_HOST, 0, 0 },
	{ "host_dump", CONFIG_STRING, CFG(host_dump), CONFIG_SET_HOST_DUMP, 0, 0 },
	{ "param", CONFIG_PARAM, 0, 0, 0, 0 },
	{ "log_level", CONFIG_LOG_LEVEL, CFG(log_level), CONFIG_SET_LOG_LEVEL, 0, 0 },
	/* A call below 128 bytes cannot name a method and its parameters. */
	{ "max_message", CONFIG_SIZE, CFG(max_message), 0, 128, HVCAPD_MAX_MESSAGE },
	{ "max_connections", CONFIG_UNSIGNED, CFG(max_connections), 0, 1, 65536 },
	{ "max_connections_per_uid", CONFIG_UNSIGNED, CFG(max_connections_per_uid), 0, 1, 65536 },
	{ "idle_timeout", CONFIG_UNSIGNED, CFG(idle_timeout_sec), 0, 1, 86400 },
	{ "partial_timeout", CONFIG_UNSIGNED, CFG(partial_timeout_sec), 0, 1, 3600 },
	{ "max_vms", CONFIG_UNSIGNED, CFG(max_vms), 0, 1, HVCAPD_MAX_VMS },
	{ "max_vcpus_per_vm", CONFIG_UNSIGNED, CFG(max_vcpus_per_vm), 0, 1, HVCAPD_MAX_VCPUS_PER_VM },
};

#define N_CONFIG_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

void config_store_done(struct config_store *store)
{
	for (size_t i = 0; i < store->n; i++)
		free(store->strings[i]);
	free(store->strings);
	store->strings = NULL;
	store->n = 0;
}

static char *config_store_add(struct config_store *store, const char *s)
{
	char **n = realloc(store->strings, (store->n + 1) * sizeof(*n));
	char *copy;

	if (!n)
		return NULL;
	store->strings = n;
	copy = strdup(s);
	if (!copy)
		return NULL;
	store->strings[store->n++] = copy;
	return copy;
}

int config_parse_host(const char *s, enum hvcapd_backend_choice *ret)
{
	if (strcmp(s, "auto") == 0)
		*ret = HVCAPD_HOST_AUTO;
	else if (strcmp(s, "kvm") == 0)
		*ret = HVCAPD_HOST_KVM;
	else if (strcmp(s, "model") == 0)
		*ret = HVCAPD_HOST_MODEL;
	else
		return -EINVAL;
	return 0;
}

/* A decimal integer in min..max, nothing else. */
static int config_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static char *config_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static bool config_group_exists(const char *name)
{
	struct group gr, *res = NULL;
	char buf[16384];

	return getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 && res;
}

/*
 * Every k->offset comes from offsetof() on a member of the type written
 * through it, so base + k->offset is aligned for that type: the (void *)
 * casts below only tell the compiler so.
 */
static int config_apply(const char *path, unsigned line, const struct config_key *k, const char *value,
			struct hvcapd_config *cfg, struct config_store *store)
{
	char *base = (char *)cfg;
	uint64_t v;
	char *copy;
	int r;

	switch (k->type) {
	case CONFIG_GROUP:
	case CONFIG_STRING:
		/* main.c resolves the group again: here only to name the line of a typo. */
		if (k->type == CONFIG_GROUP && !config_group_exists(value)) {
			hvcapd_log(LOG_ERR, "%s:%u: admin_group: no such group '%s'", path, line, value);
			return -EINVAL;
		}
		copy = config_store_add(store, value);
		if (!copy)
			return -ENOMEM;
		*(const char **)(void *)(base + k->offset) = copy;
		return 0;
	case CONFIG_HOST:
		if (config_parse_host(value, (enum hvcapd_backend_choice *)(void *)(base + k->offset)) < 0) {
			hvcapd_log(LOG_ERR, "%s:%u: host: expected auto, kvm or model, got '%s'", path, line, value);
			return -EINVAL;
		}
		return 0;
	case CONFIG_PARAM:
		if (!strchr(value, '=') || value[0] == '=') {
			hvcapd_log(LOG_ERR, "%s:%u: param: expected K=V, got '%s'", path, line, value);
			return -EINVAL;
		}
		if (cfg->n_params >= sizeof(cfg->params) / sizeof(cfg->params[0])) {
			hvcapd_log(LOG_ERR, "%s:%u: param: more than %zu parameters", path, line,
				   sizeof(cfg->params) / sizeof(cfg->params[0]));
			return -EINVAL;
		}
		copy = config_store_add(store, value);
		if (!copy)
			return -ENOMEM;
		cfg->params[cfg->n_params++] = copy;
		return 0;
	case CONFIG_LOG_LEVEL:
		r = log_level_from_name(value);
		if (r < 0) {
			hvcapd_log(LOG_ERR, "%s:%u: log_level: expected err, warning, notice, info or debug, got '%s'",
				   path, line, value);
			return -EINVAL;
		}
		*(int *)(void *)(base + k->offset) = r;
		return 0;
	case CONFIG_SIZE:
	case CONFIG_UNSIGNED:
		if (config_parse_uint(value, k->min, k->max, &v) < 0) {
			hvcapd_log(LOG_ERR, "%s:%u: %s: expected an integer in %" PRIu64 "..%" PRIu64 ", got '%s'",
				   path, line, k->name, k->min, k->max, value);
			return -EINVAL;
		}
		if (k->type == CONFIG_SIZE)
			*(size_t *)(void *)(base + k->offset) = (size_t)v;
		else
			*(unsigned *)(void *)(base + k->offset) = (unsigned)v;
		return 0;
	}
	return -EINVAL;
}

int config_load_file(const char *path, struct hvcapd_config *cfg, unsigned cli_set,
		     struct config_store *store, unsigned *ret_set)
{
	bool seen[N_CONFIG_KEYS] = { false };
	char buf[CONFIG_LINE_MAX + 2];
	unsigned line = 0, set = 0;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		hvcapd_log(LOG_ERR, "%s: %s", path, strerror(-r));
		return r;
	}
	while (fgets(buf, sizeof(buf), f)) {
		const struct config_key *k = NULL;
		char *s, *eq, *key, *value;
		size_t len = strlen(buf);

		line++;
		if (len > CONFIG_LINE_MAX && buf[len - 1] != '\n') {
			hvcapd_log(LOG_ERR, "%s:%u: line longer than %u bytes", path, line, CONFIG_LINE_MAX);
			r = -EINVAL;
			break;
		}
		s = config_trim(buf);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			hvcapd_log(LOG_ERR, "%s:%u: expected 'key = value'", path, line);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		key = config_trim(s);
		value = config_trim(eq + 1);
		for (size_t i = 0; i < N_CONFIG_KEYS; i++)
			if (strcmp(config_keys[i].name, key) == 0)
				k = &config_keys[i];
		if (!k) {
			hvcapd_log(LOG_ERR, "%s:%u: unknown key '%s'", path, line, key);
			r = -EINVAL;
			break;
		}
		if (*value == '\0') {
			hvcapd_log(LOG_ERR, "%s:%u: %s: empty value", path, line, key);
			r = -EINVAL;
			break;
		}
		if (k->type != CONFIG_PARAM && seen[k - config_keys]) {
			hvcapd_log(LOG_ERR, "%s:%u: %s given twice", path, line, key);
			r = -EINVAL;
			break;
		}
		seen[k - config_keys] = true;
		/* The command line wins; the value is still checked. */
		if (k->cli_flag && (cli_set & k->cli_flag)) {
			struct hvcapd_config scratch = *cfg;
			struct config_store discard = { 0 };

			r = config_apply(path, line, k, value, &scratch, &discard);
			config_store_done(&discard);
		} else {
			r = config_apply(path, line, k, value, cfg, store);
			set |= k->cli_flag;
		}
		if (r == -ENOMEM)
			hvcapd_log(LOG_ERR, "%s:%u: out of memory", path, line);
		if (r < 0)
			break;
	}
	if (r == 0 && ferror(f)) {
		r = -EIO;
		hvcapd_log(LOG_ERR, "%s: read error", path);
	}
	fclose(f);
	if (r == 0 && ret_set)
		*ret_set = set;
	return r;
}
