/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hvcapd: the command line, the configuration file, the defaults of
 * DESIGN.md §5 and §6, and the order of start-up: listen (refusing to
 * steal a running instance's socket), build the host, restore the VMs and
 * publish them in a new control file, set up the loop, tell the service
 * manager READY=1, serve until SIGTERM.
 * hvcapd runs in the foreground, as systemd expects.
 *
 * Exit status: 0 after a clean stop, 1 when the start fails (with a
 * message), 2 for a usage error.
 */

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "server.h"

#define EXIT_USAGE 2

#define DEFAULT_SYSTEM_LISTEN	"/run/hvcap/io.hvcap"
#define DEFAULT_SYSTEM_STATE	"/var/lib/hvcap"
/* The control file's name beside the socket (DESIGN.md §6). */
#define CONTROL_NAME		"control"

#define MAX_PARAMS (sizeof(((struct hvcapd_config *)0)->params) / sizeof(const char *))

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hvcapd [OPTION]...\n"
		"The hvcap daemon: serves the host's KVM capabilities, vCPU policies and a\n"
		"registry of modelled VMs over Varlink (io.hvcap.Host, io.hvcap.Policy,\n"
		"io.hvcap.Vm, org.varlink.service) on a Unix socket.  Runs in the foreground.\n"
		"\n"
		"  --listen PATH          the socket (default: %s as root,\n"
		"                         $XDG_RUNTIME_DIR/hvcap/io.hvcap otherwise); a socket\n"
		"                         passed by systemd (socket activation) takes precedence\n"
		"  --state-dir DIR        registered VMs (default: %s as root,\n"
		"                         $XDG_STATE_HOME/hvcap or ~/.local/state/hvcap otherwise)\n"
		"  --control PATH         the shared-memory control file clients map read-only\n"
		"                         (an absolute path; default: 'control' beside the\n"
		"                         socket: /run/hvcap/control as root,\n"
		"                         $XDG_RUNTIME_DIR/hvcap/control otherwise); created\n"
		"                         anew at every start, mode 0640, the socket's group\n"
		"  --host auto|kvm|model  where the host's capabilities come from (default auto:\n"
		"                         kvm when /dev/kvm opens, else the model of this CPU;\n"
		"                         model when only --host-dump is given)\n"
		"  --host-dump FILE       the model's host: a raw CPUID dump (libvirt XML,\n"
		"                         `cpuid -r` text or hvcap JSON)\n"
		"  --param K=V            a model parameter (repeatable)\n"
		"  --admin-group NAME     members may call privileged methods (root and the\n"
		"                         daemon's own user always may); gets the socket's group\n"
		"  --config FILE          read 'key = value' lines: admin_group, host, host_dump,\n"
		"                         param (repeatable), log_level, max_message,\n"
		"                         max_connections, max_connections_per_uid, idle_timeout,\n"
		"                         partial_timeout, max_vms, max_vcpus_per_vm; options\n"
		"                         given here win over the file\n"
		"  --log-level LEVEL      err, warning, notice, info (default) or debug\n"
		"  -h, --help             show this help and exit\n"
		"  --version              show the version and exit\n"
		"\n"
		"Limits (defaults): max_message %u bytes, max_connections %u,\n"
		"max_connections_per_uid %u, idle_timeout %u s, partial_timeout %u s,\n"
		"max_vms %u, max_vcpus_per_vm %u.\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop cleanly, SIGHUP re-probes the host.\n"
		"Exit status: 0 clean stop, 1 start-up failure, 2 usage error.\n",
		DEFAULT_SYSTEM_LISTEN, DEFAULT_SYSTEM_STATE, HVCAPD_MAX_MESSAGE, HVCAPD_MAX_CONNECTIONS,
		HVCAPD_MAX_CONNECTIONS_PER_UID, HVCAPD_IDLE_TIMEOUT_SEC, HVCAPD_PARTIAL_TIMEOUT_SEC,
		HVCAPD_MAX_VMS, HVCAPD_MAX_VCPUS_PER_VM);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hvcapd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'hvcapd --help'.\n");
	return EXIT_USAGE;
}

enum {
	OPT_LISTEN = 256,
	OPT_STATE_DIR,
	OPT_CONTROL,
	OPT_HOST,
	OPT_HOST_DUMP,
	OPT_PARAM,
	OPT_ADMIN_GROUP,
	OPT_CONFIG,
	OPT_LOG_LEVEL,
	OPT_VERSION,
};

static const struct option options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "host-dump", required_argument, NULL, OPT_HOST_DUMP },
	{ "param", required_argument, NULL, OPT_PARAM },
	{ "admin-group", required_argument, NULL, OPT_ADMIN_GROUP },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

struct cmdline {
	unsigned set;			/* CONFIG_SET_* */
	const char *config;
	const char *params[MAX_PARAMS];
	size_t n_params;
};

/* 0 to go on, or the exit status (-1 for a clean exit after --help/--version). */
static int parse_cmdline(int argc, char **argv, struct hvcapd_config *cfg, struct cmdline *cl)
{
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			if (!*optarg)
				return usage_error("--listen: empty path");
			cfg->listen = optarg;
			break;
		case OPT_STATE_DIR:
			if (!*optarg)
				return usage_error("--state-dir: empty path");
			cfg->state_dir = optarg;
			break;
		case OPT_CONTROL:
			if (optarg[0] != '/')
				return usage_error("--control: expected an absolute path, got '%s'", optarg);
			cfg->control = optarg;
			break;
		case OPT_HOST:
			if (config_parse_host(optarg, &cfg->host) < 0)
				return usage_error("--host: expected auto, kvm or model, got '%s'", optarg);
			cl->set |= CONFIG_SET_HOST;
			break;
		case OPT_HOST_DUMP:
			cfg->host_dump = optarg;
			cl->set |= CONFIG_SET_HOST_DUMP;
			break;
		case OPT_PARAM:
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return usage_error("--param: expected K=V, got '%s'", optarg);
			if (cl->n_params >= MAX_PARAMS)
				return usage_error("--param: more than %zu parameters", MAX_PARAMS);
			cl->params[cl->n_params++] = optarg;
			break;
		case OPT_ADMIN_GROUP:
			cfg->admin_group = optarg;
			cl->set |= CONFIG_SET_ADMIN_GROUP;
			break;
		case OPT_CONFIG:
			cl->config = optarg;
			break;
		case OPT_LOG_LEVEL:
			r = log_level_from_name(optarg);
			if (r < 0)
				return usage_error("--log-level: expected err, warning, notice, info or debug, got '%s'",
						   optarg);
			cfg->log_level = r;
			cl->set |= CONFIG_SET_LOG_LEVEL;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case OPT_VERSION:
			printf("hvcapd (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return -1;
		default:
			fprintf(stderr, "Try 'hvcapd --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Whether two K=V parameters name the same K. */
static bool param_same_key(const char *a, const char *b)
{
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");

	return la == lb && memcmp(a, b, la) == 0;
}

/* The command line's parameters replace the file's of the same name. */
static int merge_params(struct hvcapd_config *cfg, const struct cmdline *cl)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_params; i++) {
		bool overridden = false;

		for (size_t j = 0; j < cl->n_params; j++)
			overridden |= param_same_key(cfg->params[i], cl->params[j]);
		if (!overridden)
			cfg->params[n++] = cfg->params[i];
	}
	if (n + cl->n_params > MAX_PARAMS) {
		hvcapd_log(LOG_ERR, "more than %zu model parameters", MAX_PARAMS);
		return -E2BIG;
	}
	for (size_t j = 0; j < cl->n_params; j++)
		cfg->params[n++] = cl->params[j];
	cfg->n_params = n;
	return 0;
}

static int resolve_admin_group(struct hvcapd_config *cfg)
{
	struct group gr, *res = NULL;
	char buf[16384];
	int r;

	if (!cfg->admin_group)
		return 0;
	r = getgrnam_r(cfg->admin_group, &gr, buf, sizeof(buf), &res);
	if (r != 0 || !res) {
		hvcapd_log(LOG_ERR, "admin group '%s': %s", cfg->admin_group,
			   r ? strerror(r) : "no such group");
		return r ? -r : -ENOENT;
	}
	cfg->admin_gid = gr.gr_gid;
	cfg->has_admin_gid = true;
	return 0;
}

/* $HOME, or the password database's home directory. */
static const char *home_dir(void)
{
	static char buf[PATH_MAX];
	const char *home = getenv("HOME");
	struct passwd pw, *res = NULL;
	char pwbuf[4096];

	if (home && home[0] == '/')
		return home;
	if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) != 0 || !res || pw.pw_dir[0] != '/')
		return NULL;
	snprintf(buf, sizeof(buf), "%s", pw.pw_dir);
	return buf;
}

/* The default socket (DESIGN.md §5): -ENOENT for a user without XDG_RUNTIME_DIR. */
static int default_listen(char *buf, size_t size)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0) {
		snprintf(buf, size, "%s", DEFAULT_SYSTEM_LISTEN);
		return 0;
	}
	if (!rt || rt[0] != '/')
		return -ENOENT;
	if ((size_t)snprintf(buf, size, "%s/hvcap/io.hvcap", rt) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* DESIGN.md §5: the system paths for root, the XDG paths for a user. */
static int pick_defaults(struct hvcapd_config *cfg, bool need_listen)
{
	static char listen_buf[PATH_MAX], state_buf[PATH_MAX];
	bool root = geteuid() == 0;

	if (need_listen && !cfg->listen) {
		int r = default_listen(listen_buf, sizeof(listen_buf));

		if (r == -ENOENT) {
			hvcapd_log(LOG_ERR, "XDG_RUNTIME_DIR is not set: give the socket with --listen");
			return -EINVAL;
		}
		if (r < 0)
			return r;
		cfg->listen = listen_buf;
	}
	if (!cfg->state_dir) {
		const char *xdg = getenv("XDG_STATE_HOME");
		const char *home;
		int n;

		if (root) {
			cfg->state_dir = DEFAULT_SYSTEM_STATE;
			return 0;
		}
		if (xdg && xdg[0] == '/') {
			n = snprintf(state_buf, sizeof(state_buf), "%s/hvcap", xdg);
		} else {
			home = home_dir();
			if (!home) {
				hvcapd_log(LOG_ERR, "no home directory: give the state directory with --state-dir");
				return -EINVAL;
			}
			n = snprintf(state_buf, sizeof(state_buf), "%s/.local/state/hvcap", home);
		}
		if (n < 0 || (size_t)n >= sizeof(state_buf))
			return -ENAMETOOLONG;
		cfg->state_dir = state_buf;
	}
	return 0;
}

/*
 * DESIGN.md §6: the control file beside the socket, "control" in the
 * directory of --listen's path or, without it (socket activation), of
 * the default socket's.
 */
static int pick_control(struct hvcapd_config *cfg)
{
	static char buf[PATH_MAX], sock[PATH_MAX];
	const char *base = cfg->listen, *slash;
	size_t dir;
	int r;

	if (cfg->control)
		return 0;
	if (!base) {
		r = default_listen(sock, sizeof(sock));
		if (r == -ENOENT) {
			hvcapd_log(LOG_ERR, "XDG_RUNTIME_DIR is not set: give the control file with --control");
			return -EINVAL;
		}
		if (r < 0)
			return r;
		base = sock;
	}
	slash = strrchr(base, '/');
	dir = slash ? (size_t)(slash - base) + 1 : 0;
	if ((size_t)snprintf(buf, sizeof(buf), "%.*s" CONTROL_NAME, (int)dir, base) >= sizeof(buf)) {
		hvcapd_log(LOG_ERR, "%s: the control file's path beside it is too long", base);
		return -ENAMETOOLONG;
	}
	cfg->control = buf;
	return 0;
}

/*
 * The control file's readers are those who may connect: its group is the
 * socket file's (the admin group when hvcapd bound the socket and could
 * give it that group, the unit's SocketGroup= under systemd); (gid_t)-1
 * leaves the daemon's.
 */
static gid_t socket_group(const struct listen_socket *ls)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sa) - 1;	/* room for a NUL after the longest path */
	const char *path = ls->path;
	struct stat st;

	if (ls->activated) {
		/* An abstract or unnamed socket has no file and no group. */
		if (getsockname(ls->fd, (struct sockaddr *)&sa, &len) < 0 ||
		    len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] == '\0')
			return (gid_t)-1;
		path = sa.sun_path;
	}
	if (!path[0] || stat(path, &st) < 0)
		return (gid_t)-1;
	return st.st_gid;
}

int main(int argc, char **argv)
{
	struct hvcapd_config cfg = {
		.host = HVCAPD_HOST_AUTO,
		.log_level = LOG_INFO,
		.max_message = HVCAPD_MAX_MESSAGE,
		.max_connections = HVCAPD_MAX_CONNECTIONS,
		.max_connections_per_uid = HVCAPD_MAX_CONNECTIONS_PER_UID,
		.idle_timeout_sec = HVCAPD_IDLE_TIMEOUT_SEC,
		.partial_timeout_sec = HVCAPD_PARTIAL_TIMEOUT_SEC,
		.max_vms = HVCAPD_MAX_VMS,
		.max_vcpus_per_vm = HVCAPD_MAX_VCPUS_PER_VM,
		.control_gid = (gid_t)-1,
	};
	struct listen_socket ls = { .fd = -1 };
	struct config_store store = { 0 };
	struct cmdline cl = { 0 };
	struct server *s = NULL;
	struct hvcapd *d = NULL;
	const struct hvcapd_host *host;
	unsigned file_set = 0;
	char status[512];
	int r;

	r = parse_cmdline(argc, argv, &cfg, &cl);
	if (r)
		return r < 0 ? EXIT_SUCCESS : r;
	hvcapd_log_set_level(cfg.log_level);

	/* A client that leaves mid-reply is an EPIPE on its connection, not the daemon's death. */
	signal(SIGPIPE, SIG_IGN);
	/* A file past RLIMIT_FSIZE (the control file grows) is an EFBIG for that call, not the daemon's death. */
	signal(SIGXFSZ, SIG_IGN);

	if (cl.config) {
		r = config_load_file(cl.config, &cfg, cl.set, &store, &file_set);
		if (r < 0)
			goto fail;
		hvcapd_log_set_level(cfg.log_level);
	}
	r = merge_params(&cfg, &cl);
	if (r < 0)
		goto fail;
	/* A dump only makes sense to the model. */
	if (cfg.host_dump && !((cl.set | file_set) & CONFIG_SET_HOST))
		cfg.host = HVCAPD_HOST_MODEL;
	r = resolve_admin_group(&cfg);
	if (r < 0)
		goto fail;

	r = listen_activated(&ls);
	if (r == -ENOENT) {
		r = pick_defaults(&cfg, true);
		if (r < 0)
			goto fail;
		r = listen_bind(cfg.listen, cfg.has_admin_gid ? cfg.admin_gid : (gid_t)-1, &ls);
	} else if (r == 0) {
		if (cfg.listen)
			hvcapd_log(LOG_INFO, "using the socket systemd passed, not %s", cfg.listen);
		r = pick_defaults(&cfg, false);
	}
	if (r < 0)
		goto fail;

	r = mkdir_parents(cfg.state_dir, 0750, true);
	if (r < 0) {
		hvcapd_log(LOG_ERR, "%s: cannot create the state directory: %s", cfg.state_dir, strerror(-r));
		goto fail;
	}
	r = pick_control(&cfg);
	if (r < 0)
		goto fail;
	r = mkdir_parents(cfg.control, 0750, false);
	if (r < 0) {
		hvcapd_log(LOG_ERR, "%s: cannot create the control file's directory: %s", cfg.control, strerror(-r));
		goto fail;
	}
	cfg.control_gid = socket_group(&ls);

	r = hvcapd_init(&cfg, &d);
	if (r < 0) {
		hvcapd_log(LOG_ERR, "start-up failed: %s", strerror(-r));
		goto fail;
	}
	r = server_new(d, &cfg, ls.fd, &s);
	if (r < 0)
		goto fail;

	host = hvcapd_get_host(d);
	snprintf(status, sizeof(status), "Listening on %s; host %s, fingerprint %s",
		 ls.activated ? "the socket systemd passed" : ls.path,
		 host && host->record ? caps_backend_to_string(host->record->backend) : "unknown",
		 host && host->record ? host->record->fingerprint : "none");
	hvcapd_log(LOG_INFO, "%s", status);
	notify_ready(status);

	r = server_run(s);

	server_free(s);
	hvcapd_free(d);
	listen_close(&ls);
	config_store_done(&store);
	if (r < 0)
		return EXIT_FAILURE;
	hvcapd_log(LOG_INFO, "stopped");
	return EXIT_SUCCESS;

fail:
	server_free(s);
	hvcapd_free(d);
	listen_close(&ls);
	config_store_done(&store);
	return EXIT_FAILURE;
}
