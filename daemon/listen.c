/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The listening socket: passed by systemd (socket activation) or bound
 * here.  Binding refuses to steal the path from a running instance (one
 * that accepts a connection), removes a stale socket file (nothing
 * accepts), and creates the socket with mode 0660 so that only the owner
 * and the group can connect; the method table decides the rest.  On a
 * clean exit the file is removed only if it is still the one bound here:
 * an instance started since (after ours was declared stale) keeps its own.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "server.h"

int mkdir_parents(const char *path, mode_t mode, bool include_last)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	if (!include_last) {
		char *slash = strrchr(buf, '/');

		if (!slash)
			return 0;
		*slash = '\0';
		len = (size_t)(slash - buf);
	}
	for (size_t i = 1; i <= len; i++) {
		struct stat st;

		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		if (stat(buf, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if (i < len)
			buf[i] = '/';
	}
	return 0;
}

int listen_activated(struct listen_socket *ret)
{
	int n = sd_listen_fds(1);
	int fd = SD_LISTEN_FDS_START;
	int r;

	if (n < 0) {
		hvcapd_log(LOG_ERR, "socket activation: %s", strerror(-n));
		return n;
	}
	if (n == 0)
		return -ENOENT;
	if (n != 1) {
		hvcapd_log(LOG_ERR, "socket activation: %d sockets passed; hvcapd takes exactly one", n);
		return -EINVAL;
	}
	r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
	if (r <= 0) {
		hvcapd_log(LOG_ERR, "socket activation: fd %d is not a listening AF_UNIX stream socket", fd);
		return r < 0 ? r : -EINVAL;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		r = -errno;
		hvcapd_log(LOG_ERR, "socket activation: fd %d: %s", fd, strerror(-r));
		return r;
	}
	*ret = (struct listen_socket){ .fd = fd, .activated = true };
	return 0;
}

/*
 * Whether something accepts connections on sa: 1 yes, 0 no (stale or
 * absent), -errno when that cannot be told.
 */
static int listen_probe(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r;

	if (fd < 0)
		return -errno;
	/* Non-blocking: a live instance with a full backlog answers EAGAIN instead of stalling us. */
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		r = 1;
	else if (errno == EAGAIN || errno == EINPROGRESS)
		r = 1;
	else if (errno == ECONNREFUSED || errno == ENOENT)
		r = 0;
	else
		r = -errno;
	close(fd);
	return r;
}

int listen_bind(const char *path, gid_t gid, struct listen_socket *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct listen_socket ls = { .fd = -1 };
	struct stat st;
	mode_t old_umask;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(ls.path)) {
		hvcapd_log(LOG_ERR, "%s: socket path too long (at most %zu bytes)", path,
			   sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);

	r = mkdir_parents(path, 0750, false);
	if (r < 0) {
		hvcapd_log(LOG_ERR, "%s: cannot create the parent directory: %s", path, strerror(-r));
		return r;
	}

	r = listen_probe(&sa);
	if (r > 0) {
		hvcapd_log(LOG_ERR, "%s: another instance is listening there; not starting", path);
		return -EADDRINUSE;
	}
	if (r < 0) {
		hvcapd_log(LOG_ERR, "%s: %s", path, strerror(-r));
		return r;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			hvcapd_log(LOG_ERR, "%s: exists and is not a socket; not starting", path);
			return -EEXIST;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			hvcapd_log(LOG_ERR, "%s: cannot remove the stale socket: %s", path, strerror(-r));
			return r;
		}
		hvcapd_log(LOG_INFO, "%s: removed a stale socket", path);
	}

	ls.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ls.fd < 0) {
		r = -errno;
		hvcapd_log(LOG_ERR, "socket: %s", strerror(-r));
		return r;
	}
	/* The umask makes the file 0660 from its creation on; chmod() below covers an odd umask. */
	old_umask = umask(0117);
	r = bind(ls.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old_umask);
	if (r < 0) {
		hvcapd_log(LOG_ERR, "%s: bind: %s", path, strerror(-r));
		goto fail;
	}
	if (lstat(path, &st) < 0) {
		r = -errno;
		hvcapd_log(LOG_ERR, "%s: %s", path, strerror(-r));
		goto fail;
	}
	ls.dev = st.st_dev;
	ls.ino = st.st_ino;
	memcpy(ls.path, path, strlen(path) + 1);
	if (chmod(path, 0660) < 0) {
		r = -errno;
		hvcapd_log(LOG_ERR, "%s: chmod: %s", path, strerror(-r));
		goto fail_unlink;
	}
	/* The admin group may connect (and so call privileged methods) through the group bits. */
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)
		hvcapd_log(LOG_WARNING, "%s: cannot give the socket to group %u: %s", path,
			   (unsigned)gid, strerror(errno));
	if (listen(ls.fd, SOMAXCONN) < 0) {
		r = -errno;
		hvcapd_log(LOG_ERR, "%s: listen: %s", path, strerror(-r));
		goto fail_unlink;
	}
	*ret = ls;
	return 0;

fail_unlink:
	unlink(path);
fail:
	close(ls.fd);
	return r;
}

void listen_close(struct listen_socket *ls)
{
	struct stat st;

	if (ls->fd < 0)
		return;
	if (!ls->activated && ls->path[0] && lstat(ls->path, &st) == 0 &&
	    st.st_dev == ls->dev && st.st_ino == ls->ino)
		unlink(ls->path);
	close(ls->fd);
	ls->fd = -1;
}
