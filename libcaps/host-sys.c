/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host facts that /sys and /proc hold: the KVM modules' parameters,
 * the microcode revision and the kernel release.  /dev/kvm is
 * host-probe.c's alone.
 */

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "host-internal.h"

int caps_probe_error_set(struct caps_probe_error *err, int r, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return r;
}

/*
 * A host has a few hundred modules and a module a few dozen parameters;
 * a directory listing longer than this is not a KVM module's.
 */
#define DIR_NAMES_MAX 4096

struct name_list {
	char **names;
	size_t n;
};

static void name_list_done(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	*l = (struct name_list) { NULL, 0 };
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in directory path that start with prefix ("." and ".." never). */
static int dir_names(const char *path, const char *prefix, struct name_list *ret)
{
	struct name_list l = { NULL, 0 };
	size_t cap = 0, plen = strlen(prefix);
	struct dirent *de;
	DIR *dir;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		r = -errno;
		close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		de = readdir(dir);
		if (!de) {
			r = errno ? -errno : 0;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strncmp(de->d_name, prefix, plen) != 0)
			continue;
		if (l.n >= DIR_NAMES_MAX) {
			r = -E2BIG;
			break;
		}
		if (l.n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **p = realloc(l.names, ncap * sizeof(*p));

			if (!p) {
				r = -ENOMEM;
				break;
			}
			l.names = p;
			cap = ncap;
		}
		l.names[l.n] = strdup(de->d_name);
		if (!l.names[l.n]) {
			r = -ENOMEM;
			break;
		}
		l.n++;
	}
	closedir(dir);
	if (r < 0) {
		name_list_done(&l);
		return r;
	}
	if (l.n)
		qsort(l.names, l.n, sizeof(l.names[0]), name_cmp);
	*ret = l;
	return 0;
}

/* Read at most size bytes of a regular file; -EISDIR etc. for other kinds. */
static int read_small_file(const char *path, char *buf, size_t size, size_t *ret_len)
{
	struct stat st;
	size_t len = 0;
	int fd, r = 0;

	/* O_NONBLOCK: a FIFO where a parameter should be must not hang the probe. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
out:
	close(fd);
	return r;
}

/*
 * Errors that say something about us (out of memory or descriptors),
 * not about the file: those fail the probe, the rest make a parameter
 * unreadable.
 */
static bool error_is_ours(int r)
{
	return r == -ENOMEM || r == -EMFILE || r == -ENFILE;
}

static int read_params(const char *sys_module, const char *module, struct caps_host_record *rec,
		       struct caps_probe_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct name_list files;
	int r;

	if (strlen(module) >= CAPS_PARAM_MODULE_MAX)
		return caps_probe_error_set(err, -ENAMETOOLONG,
					    "%s/%s: module name longer than %d bytes",
					    sys_module, module, CAPS_PARAM_MODULE_MAX - 1);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s/parameters", sys_module, module) >=
	    sizeof(dir))
		return caps_probe_error_set(err, -ENAMETOOLONG, "%s/%s: path too long",
					    sys_module, module);
	r = dir_names(dir, "", &files);
	/* A module without parameters has no parameters directory. */
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return caps_probe_error_set(err, r, "%s: %s", dir, strerror(-r));

	for (size_t i = 0; i < files.n; i++) {
		/* One byte more than a value and its newline: tells an over-long value. */
		char value[CAPS_PARAM_VALUE_MAX + 1];
		size_t len = 0;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, files.names[i]) >=
		    sizeof(path)) {
			r = caps_probe_error_set(err, -ENAMETOOLONG, "%s/%s: path too long",
						 dir, files.names[i]);
			goto out;
		}
		r = read_small_file(path, value, sizeof(value), &len);
		if (r < 0 && error_is_ours(r)) {
			r = caps_probe_error_set(err, r, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (r < 0)
			continue;	/* write-only or otherwise unreadable: nothing to record */
		/* The kernel ends every parameter value with a newline. */
		if (len > 0 && value[len - 1] == '\n')
			len--;
		if (len >= CAPS_PARAM_VALUE_MAX) {
			r = caps_probe_error_set(err, -ENAMETOOLONG,
						 "%s: value longer than the %d bytes "
						 "a host record holds",
						 path, CAPS_PARAM_VALUE_MAX - 1);
			goto out;
		}
		if (memchr(value, '\0', len)) {
			r = caps_probe_error_set(err, -EINVAL, "%s: value contains a NUL byte",
						 path);
			goto out;
		}
		value[len] = '\0';
		r = caps_host_record_add_param(rec, module, files.names[i], value);
		if (r == -E2BIG) {
			r = caps_probe_error_set(err, r,
						 "%s: more than the %d parameters "
						 "a host record holds",
						 path, CAPS_PARAM_MAX);
			goto out;
		}
		if (r < 0) {
			r = caps_probe_error_set(err, r, "%s: name longer than %d bytes",
						 path, CAPS_PARAM_NAME_MAX - 1);
			goto out;
		}
	}
	r = 0;
out:
	name_list_done(&files);
	return r;
}

int caps_host_sys_read_modules(const char *sys_module, struct caps_host_record *r,
			       struct caps_probe_error *err)
{
	struct name_list vendors;
	int ret;

	/* "kvm_" excludes kvm itself; kvm_intel, kvm_amd and others such as kvm_pvm remain. */
	ret = dir_names(sys_module, "kvm_", &vendors);
	if (ret == -ENOENT)
		return caps_probe_error_set(err, ret, "%s: %s (is sysfs mounted?)",
					    sys_module, strerror(-ret));
	if (ret < 0)
		return caps_probe_error_set(err, ret, "%s: %s", sys_module, strerror(-ret));

	if (vendors.n > 0) {
		if (strlen(vendors.names[0]) >= sizeof(r->vendor_module)) {
			ret = caps_probe_error_set(err, -ENAMETOOLONG,
						   "%s/%s: module name longer than %zu bytes",
						   sys_module, vendors.names[0],
						   sizeof(r->vendor_module) - 1);
			goto out;
		}
		strcpy(r->vendor_module, vendors.names[0]);
	}

	ret = read_params(sys_module, "kvm", r, err);
	/* With several vendor modules loaded, any of them may serve /dev/kvm: record all. */
	for (size_t i = 0; ret == 0 && i < vendors.n; i++)
		ret = read_params(sys_module, vendors.names[i], r, err);
out:
	name_list_done(&vendors);
	return ret;
}

static bool hex_digit(char c, unsigned *ret)
{
	if (c >= '0' && c <= '9')
		*ret = (unsigned)(c - '0');
	else if (c >= 'a' && c <= 'f')
		*ret = (unsigned)(c - 'a' + 10);
	else if (c >= 'A' && c <= 'F')
		*ret = (unsigned)(c - 'A' + 10);
	else
		return false;
	return true;
}

int caps_host_sys_parse_microcode(const char *text, size_t len, bool *ret_has,
				  uint64_t *ret_value)
{
	const char *p, *eol;
	size_t n;
	uint64_t v = 0;
	unsigned digits = 0, d;

	if (caps_cpuinfo_field(text, len, "microcode", &p, &n) < 0) {
		*ret_has = false;
		*ret_value = 0;
		return 0;
	}
	eol = p + n;
	if (eol - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; p < eol && hex_digit(*p, &d); p++, digits++) {
		if (digits == 16)
			return -EINVAL;
		v = v << 4 | d;
	}
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	if (digits == 0 || p != eol)
		return -EINVAL;
	*ret_has = true;
	*ret_value = v;
	return 0;
}

int caps_host_sys_read_system(struct caps_host_record *r, struct caps_probe_error *err)
{
	struct utsname u;
	char *buf;
	size_t len;
	int ret;

	if (uname(&u) < 0)
		return caps_probe_error_set(err, -errno, "uname: %s", strerror(errno));
	if ((size_t)snprintf(r->kernel_release, sizeof(r->kernel_release), "%s", u.release) >=
	    sizeof(r->kernel_release))
		return caps_probe_error_set(err, -ENAMETOOLONG,
					    "uname: kernel release longer than %zu bytes",
					    sizeof(r->kernel_release) - 1);

	ret = caps_cpuinfo_read(&buf, &len);
	if (ret < 0)
		return caps_probe_error_set(err, ret, "/proc/cpuinfo: %s", strerror(-ret));
	ret = caps_host_sys_parse_microcode(buf, len, &r->has_microcode, &r->microcode);
	free(buf);
	if (ret < 0)
		return caps_probe_error_set(err, ret, "/proc/cpuinfo: the microcode field "
					    "is not a hexadecimal number");
	return 0;
}
