/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The server's own pieces, below daemon.h: the listening socket
 * (listen.c), authorization (auth.c), sd_notify (notify.c), the command
 * line's configuration (config.c) and the loop (server.c).  Methods never
 * include this header: they see only daemon.h's request API.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>

#include "daemon.h"

/* ------------------------------------------------------------------ */
/* The listening socket (listen.c). */

struct listen_socket {
	int fd;
	bool activated;		/* from systemd: never unlinked by us */
	char path[108];		/* what we bound, "" when activated */
	dev_t dev;		/* the socket file we created, to unlink only ours */
	ino_t ino;
};

/*
 * The socket systemd passed (sd_listen_fds(): exactly one listening
 * AF_UNIX stream socket), or -ENOENT when none was passed.  Other
 * errors are logged.
 */
int listen_activated(struct listen_socket *ret);

/*
 * Bind path (mode 0660, group gid unless (gid_t)-1): refuse when another
 * instance answers on it, remove a stale socket, create missing parent
 * directories (0750).  Logs its errors.
 */
int listen_bind(const char *path, gid_t gid, struct listen_socket *ret);

/* Close, and unlink the socket file if it is still the one we bound. */
void listen_close(struct listen_socket *ls);

/* mkdir -p with mode for every missing component (path itself included). */
int mkdir_parents(const char *path, mode_t mode, bool include_last);

/* ------------------------------------------------------------------ */
/* Authorization (auth.c). */

/*
 * Whether a peer may call METHOD_PRIVILEGED methods: root, the daemon's
 * own uid, or a member of the admin group (primary gid or the group
 * database's supplementary groups of the peer's user).
 */
bool auth_peer_is_privileged(const struct hvcapd_config *cfg, uid_t uid, gid_t gid);

/* ------------------------------------------------------------------ */
/* sd_notify (notify.c); all are no-ops without $NOTIFY_SOCKET. */

void notify_ready(const char *status);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
/* Half of WATCHDOG_USEC when the service manager asks for pings, else 0. */
uint64_t notify_watchdog_interval_usec(void);

/* ------------------------------------------------------------------ */
/* Log levels by name (log.c). */

/* LOG_ERR .. LOG_DEBUG for "err", "warning", "notice", "info", "debug"; -EINVAL otherwise. */
int log_level_from_name(const char *name);

/* ------------------------------------------------------------------ */
/* The configuration file (config.c). */

/* What the command line set: the file does not override these. */
#define CONFIG_SET_ADMIN_GROUP	(1u << 0)
#define CONFIG_SET_HOST		(1u << 1)
#define CONFIG_SET_HOST_DUMP	(1u << 2)
#define CONFIG_SET_LOG_LEVEL	(1u << 3)

/* Strings read from the file, which cfg points into; freed by config_store_done(). */
struct config_store {
	char **strings;
	size_t n;
};

void config_store_done(struct config_store *store);

/* "auto", "kvm" or "model"; -EINVAL otherwise. */
int config_parse_host(const char *s, enum hvcapd_backend_choice *ret);

/*
 * Read "key = value" lines ('#' starts a comment line) into cfg, leaving
 * alone what cli_set says the command line gave.  param lines are
 * appended to cfg->params.  An unknown key, a bad value or a repeated key
 * is logged as "FILE:LINE: message" and fails with -EINVAL.
 * ret_set gets the CONFIG_SET_* the file gave.
 */
int config_load_file(const char *path, struct hvcapd_config *cfg, unsigned cli_set,
		     struct config_store *store, unsigned *ret_set);

/* ------------------------------------------------------------------ */
/* The loop (server.c). */

struct server;

/*
 * A server over an open listening socket: signals, the watchdog and the
 * accept event set up, every method table entry checked against the
 * IDL.  Logs its errors.
 */
int server_new(struct hvcapd *d, const struct hvcapd_config *cfg, int listen_fd,
	       struct server **ret);
/* Run until SIGTERM/SIGINT; 0 after a clean stop. */
int server_run(struct server *s);
/* Close every connection (ending kept-open requests) and free. */
void server_free(struct server *s);
