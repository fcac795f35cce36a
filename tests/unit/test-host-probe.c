/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kvm backend: caps_host_probe_kvm() against direct ioctls on this
 * machine's /dev/kvm and its /sys and /proc, KVM's own E2BIG rules, the
 * fingerprint, the permission failure, and the host-record helpers and
 * /proc/cpuinfo parsers it is built from.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/kvm.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libcaps/host.h>

#include "../../libcaps/host-internal.h"
#include "test-util.h"

/* Records are large: keep them out of the stack. */
static struct caps_host_record rec, rec2;

static void probe(struct caps_host_record *r)
{
	struct caps_probe_error err;
	int ret = caps_host_probe_kvm(r, &err);

	ck_assert_msg(ret == 0, "caps_host_probe_kvm: %s: %s", strerror(-ret), err.message);
	ck_assert_str_eq(err.message, "");
}

static int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "/dev/kvm: %s", strerror(errno));
	return fd;
}

/* A CPUID ioctl with nent set and room entries allocated, zeroed; -errno or 0. */
static int direct_cpuid(int fd, unsigned long request, uint32_t nent, uint32_t room,
			struct kvm_cpuid2 **ret)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + room * sizeof(c->entries[0]));

	ck_assert_ptr_nonnull(c);
	c->nent = nent;
	*ret = c;
	return ioctl(fd, request, c) < 0 ? -errno : 0;
}

static void assert_cpuid_equal(const struct caps_cpuid *set, const struct kvm_cpuid2 *c)
{
	ck_assert_uint_eq(set->nent, c->nent);
	for (size_t i = 0; i < set->nent; i++) {
		const struct caps_cpuid_entry *e = &set->entries[i];
		const struct kvm_cpuid_entry2 *k = &c->entries[i];

		ck_assert_msg(e->function == k->function && e->index == k->index &&
			      e->flags == k->flags && e->eax == k->eax && e->ebx == k->ebx &&
			      e->ecx == k->ecx && e->edx == k->edx,
			      "entry %zu: probe 0x%x.%u f%u %08x %08x %08x %08x, "
			      "ioctl 0x%x.%u f%u %08x %08x %08x %08x",
			      i, e->function, e->index, e->flags, e->eax, e->ebx, e->ecx, e->edx,
			      k->function, k->index, k->flags, k->eax, k->ebx, k->ecx, k->edx);
	}
}

static void assert_probe_matches_ioctl(unsigned long request, const struct caps_cpuid *set)
{
	struct kvm_cpuid2 *c;
	int fd = kvm_open();

	/* KVM clamps nent to 256, its KVM_MAX_CPUID_ENTRIES. */
	ck_assert_int_eq(direct_cpuid(fd, request, 256, 256, &c), 0);
	assert_cpuid_equal(set, c);
	free(c);
	close(fd);
}

START_TEST(test_host_probe_kvm_supported_cpuid_matches_the_ioctl)
{
	probe(&rec);
	ck_assert_int_eq(rec.backend, CAPS_BACKEND_KVM);
	ck_assert_int_eq(rec.api_version, KVM_API_VERSION);
	ck_assert_uint_gt(rec.supported.nent, 0);
	assert_probe_matches_ioctl(KVM_GET_SUPPORTED_CPUID, &rec.supported);
}
END_TEST

START_TEST(test_host_probe_kvm_emulated_cpuid_matches_the_ioctl)
{
	probe(&rec);
	assert_probe_matches_ioctl(KVM_GET_EMULATED_CPUID, &rec.emulated);
}
END_TEST

/* KVM-SEMANTICS.md §6 invariant 14, on the real /dev/kvm, for both CPUID ioctls. */
START_TEST(test_kvm_get_cpuid_follows_the_e2big_rules)
{
	static const unsigned long requests[] = { KVM_GET_SUPPORTED_CPUID, KVM_GET_EMULATED_CPUID };
	int fd = kvm_open();

	for (size_t q = 0; q < 2; q++) {
		struct kvm_cpuid2 *none, *full, *shortc, *big;
		uint32_t n;

		ck_assert_int_eq(direct_cpuid(fd, requests[q], 0, 1, &none), -E2BIG);
		ck_assert_uint_eq(none->nent, 0);

		ck_assert_int_eq(direct_cpuid(fd, requests[q], 256, 256, &full), 0);
		n = full->nent;
		ck_assert_uint_gt(n, 0);
		ck_assert_uint_le(n, 256);

		/* One entry short: -E2BIG, and KVM does not write nent back. */
		if (n > 1) {
			ck_assert_int_eq(direct_cpuid(fd, requests[q], n - 1, n - 1, &shortc),
					 -E2BIG);
			ck_assert_uint_eq(shortc->nent, n - 1);
			free(shortc);
		}

		/* More than 256 is clamped to 256: the same answer. */
		ck_assert_int_eq(direct_cpuid(fd, requests[q], 10000, 10000, &big), 0);
		ck_assert_uint_eq(big->nent, n);
		ck_assert(memcmp(big->entries, full->entries, n * sizeof(full->entries[0])) == 0);

		free(none);
		free(full);
		free(big);
	}
	close(fd);
}
END_TEST

/* Why the probe zeroes its buffers: KVM's sanity_check_entries(). */
START_TEST(test_kvm_get_emulated_cpuid_rejects_nonzero_padding)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	int fd = kvm_open();

	ck_assert_ptr_nonnull(c);
	c->nent = 256;
	c->entries[255].padding[2] = 1;
	ck_assert_int_eq(ioctl(fd, KVM_GET_EMULATED_CPUID, c), -1);
	ck_assert_int_eq(errno, EINVAL);
	free(c);
	close(fd);
}
END_TEST

/* KVM's feature-MSR index list, sized the way KVM asks. */
static struct kvm_msr_list *direct_msr_list(int fd)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	uint32_t n;

	/* Unlike the CPUID ioctls, KVM writes the count it needs back on -E2BIG. */
	ck_assert_int_eq(ioctl(fd, KVM_GET_MSR_FEATURE_INDEX_LIST, &probe), -1);
	ck_assert_int_eq(errno, E2BIG);
	n = probe.nmsrs;
	l = calloc(1, sizeof(*l) + n * sizeof(l->indices[0]));
	ck_assert_ptr_nonnull(l);
	l->nmsrs = n;
	ck_assert_int_eq(ioctl(fd, KVM_GET_MSR_FEATURE_INDEX_LIST, l), 0);
	ck_assert_uint_eq(l->nmsrs, n);
	return l;
}

/* 1 and *ret when KVM reads the MSR on the system fd, 0 when it refuses. */
static int direct_msr(int fd, uint32_t index, uint64_t *ret)
{
	/* struct kvm_msrs ends in a flexible array: allocate it with its one entry. */
	struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(m->entries[0]));
	int r;

	ck_assert_ptr_nonnull(m);
	m->nmsrs = 1;
	m->entries[0].index = index;
	r = ioctl(fd, KVM_GET_MSRS, m);
	ck_assert_msg(r == 0 || r == 1, "KVM_GET_MSRS 0x%x: %d (%s)", index, r, strerror(errno));
	*ret = m->entries[0].data;
	free(m);
	return r;
}

START_TEST(test_host_probe_kvm_feature_msrs_are_kvm_listed_values)
{
	struct kvm_msr_list *l;
	int fd;

	probe(&rec);
	fd = kvm_open();
	l = direct_msr_list(fd);
	ck_assert_uint_le(rec.msrs.n, l->nmsrs);

	/* Every stored MSR is listed, with the value a direct KVM_GET_MSRS gives. */
	for (size_t i = 0; i < rec.msrs.n; i++) {
		uint32_t index = rec.msrs.msrs[i].index;
		bool listed = false;
		uint64_t v;

		for (uint32_t j = 0; j < l->nmsrs; j++)
			listed |= l->indices[j] == index;
		ck_assert_msg(listed, "MSR 0x%x stored but not in KVM's feature list", index);
		ck_assert_int_eq(direct_msr(fd, index, &v), 1);
		ck_assert_msg(v == rec.msrs.msrs[i].value, "MSR 0x%x: probe 0x%llx, ioctl 0x%llx",
			      index, (unsigned long long)rec.msrs.msrs[i].value,
			      (unsigned long long)v);
	}
	/* And every listed MSR KVM reads is stored: none dropped silently. */
	for (uint32_t j = 0; j < l->nmsrs; j++) {
		uint64_t v, stored;

		if (direct_msr(fd, l->indices[j], &v) == 1)
			ck_assert_msg(caps_msrs_get(&rec.msrs, l->indices[j], &stored) == 0,
				      "MSR 0x%x readable but not stored", l->indices[j]);
		else
			ck_assert(caps_msrs_get(&rec.msrs, l->indices[j], &stored) == -ENOENT);
	}
	free(l);
	close(fd);
}
END_TEST

START_TEST(test_host_probe_kvm_caps_are_check_extension_answers)
{
	static const char *const required[] = {
		"KVM_CAP_NR_VCPUS", "KVM_CAP_MAX_VCPUS", "KVM_CAP_MAX_VCPU_ID",
		"KVM_CAP_X2APIC_API", "KVM_CAP_X86_DISABLE_EXITS", "KVM_CAP_GET_MSR_FEATURES",
		"KVM_CAP_NESTED_STATE", "KVM_CAP_XSAVE2", "KVM_CAP_PMU_CAPABILITY",
		"KVM_CAP_VM_TYPES", "KVM_CAP_TSC_CONTROL", "KVM_CAP_SPLIT_IRQCHIP",
		"KVM_CAP_SGX_ATTRIBUTE", "KVM_CAP_HYPERV_CPUID",
		"KVM_CAP_EXIT_HYPERCALL", "KVM_CAP_X86_NOTIFY_VMEXIT", "KVM_CAP_X86_USER_SPACE_MSR",
		"KVM_CAP_X86_APIC_BUS_CYCLES_NS",
	};
	int fd;

	probe(&rec);
	fd = kvm_open();
	ck_assert_uint_le(rec.n_kvm_caps, CAPS_KVM_CAP_MAX);
	for (size_t i = 0; i < rec.n_kvm_caps; i++) {
		const struct caps_kvm_cap *c = &rec.kvm_caps[i];

		ck_assert_ptr_nonnull(c->name);
		ck_assert_int_eq(strncmp(c->name, "KVM_CAP_", 8), 0);
		ck_assert_int_eq(c->value, ioctl(fd, KVM_CHECK_EXTENSION, (unsigned long)c->cap));
		for (size_t j = 0; j < i; j++)
			ck_assert_uint_ne(rec.kvm_caps[j].cap, c->cap);
	}
	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++) {
		bool found = false;

		for (size_t i = 0; i < rec.n_kvm_caps; i++)
			found |= strcmp(rec.kvm_caps[i].name, required[k]) == 0;
		ck_assert_msg(found, "%s not probed", required[k]);
	}
	/* Numbers from upstream uapi kvm.h, a few of them newer than the build's header. */
	for (size_t i = 0; i < rec.n_kvm_caps; i++) {
		if (strcmp(rec.kvm_caps[i].name, "KVM_CAP_VM_TYPES") == 0)
			ck_assert_uint_eq(rec.kvm_caps[i].cap, 235);
		if (strcmp(rec.kvm_caps[i].name, "KVM_CAP_X86_APIC_BUS_CYCLES_NS") == 0)
			ck_assert_uint_eq(rec.kvm_caps[i].cap, 237);
		if (strcmp(rec.kvm_caps[i].name, "KVM_CAP_XSAVE2") == 0)
			ck_assert_uint_eq(rec.kvm_caps[i].cap, 208);
	}
	close(fd);
}
END_TEST

/* Read a parameter the way an operator would see it; false when unreadable. */
static bool read_param(const char *path, char *buf, size_t size)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return true;
}

/* Every readable file under /sys/module/<module>/parameters is in the record; the count. */
static size_t assert_module_params_recorded(const struct caps_host_record *r, const char *module)
{
	char dir[256], path[512], value[4096];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/module/%s/parameters", module);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		const char *got;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!read_param(path, value, sizeof(value)))
			continue;
		got = caps_host_record_param(r, module, de->d_name);
		ck_assert_msg(got, "%s not recorded", path);
		ck_assert_msg(strcmp(got, value) == 0, "%s: recorded \"%s\", file \"%s\"",
			      path, got, value);
		n++;
	}
	closedir(d);
	return n;
}

START_TEST(test_host_probe_kvm_params_cover_every_readable_file)
{
	size_t n_kvm, n_vendor;
	struct dirent *de;
	DIR *d;

	probe(&rec);
	ck_assert_int_eq(strncmp(rec.vendor_module, "kvm_", 4), 0);

	/* The vendor module is the sorted first kvm_* directory. */
	d = opendir("/sys/module");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "kvm_", 4) == 0)
			ck_assert_int_le(strcmp(rec.vendor_module, de->d_name), 0);
	closedir(d);

	n_kvm = assert_module_params_recorded(&rec, "kvm");
	ck_assert_uint_gt(n_kvm, 0);
	n_vendor = assert_module_params_recorded(&rec, rec.vendor_module);

	/* Nothing else: every recorded parameter is kvm's or a kvm_* module's. */
	for (size_t i = 0; i < rec.n_params; i++)
		ck_assert(strcmp(rec.params[i].module, "kvm") == 0 ||
			  strncmp(rec.params[i].module, "kvm_", 4) == 0);
	ck_assert_uint_ge(rec.n_params, n_kvm + n_vendor);
}
END_TEST

START_TEST(test_host_probe_kvm_kernel_release_is_uname)
{
	struct utsname u;

	probe(&rec);
	ck_assert_int_eq(uname(&u), 0);
	ck_assert_str_eq(rec.kernel_release, u.release);
}
END_TEST

START_TEST(test_host_probe_kvm_microcode_is_the_proc_cpuinfo_field)
{
	char line[256];
	bool has = false;
	unsigned long long v = 0;
	FILE *f;

	probe(&rec);
	f = fopen("/proc/cpuinfo", "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) && line[0] != '\n') {
		if (strncmp(line, "microcode", 9) == 0) {
			ck_assert_int_eq(sscanf(strchr(line, ':') + 1, "%llx", &v), 1);
			has = true;
			break;
		}
	}
	fclose(f);
	ck_assert_int_eq(rec.has_microcode, has);
	if (has)
		ck_assert_uint_eq(rec.microcode, v);
}
END_TEST

START_TEST(test_host_record_fingerprint_is_stable_across_probes)
{
	probe(&rec);
	probe(&rec2);
	ck_assert_int_eq(strncmp(rec.fingerprint, "hvcap1-", 7), 0);
	ck_assert_uint_eq(strlen(rec.fingerprint), 7 + 16);
	ck_assert_str_eq(rec.fingerprint, rec2.fingerprint);
}
END_TEST

START_TEST(test_host_record_fingerprint_changes_with_param_release_and_cpuid)
{
	probe(&rec);
	ck_assert_uint_gt(rec.n_params, 0);

	/* Recomputing an unchanged copy gives the same fingerprint. */
	rec2 = rec;
	caps_host_record_finish(&rec2);
	ck_assert_str_eq(rec2.fingerprint, rec.fingerprint);

	rec2 = rec;
	/* Change one character, or give an empty value one. */
	if (rec2.params[0].value[0])
		rec2.params[0].value[0] ^= 1;
	else
		strcpy(rec2.params[0].value, "1");
	caps_host_record_finish(&rec2);
	ck_assert_str_ne(rec2.fingerprint, rec.fingerprint);

	rec2 = rec;
	rec2.kernel_release[strlen(rec2.kernel_release) - 1] ^= 1;
	caps_host_record_finish(&rec2);
	ck_assert_str_ne(rec2.fingerprint, rec.fingerprint);

	rec2 = rec;
	rec2.supported.entries[rec2.supported.nent - 1].ecx ^= 1u << 5;
	caps_host_record_finish(&rec2);
	ck_assert_str_ne(rec2.fingerprint, rec.fingerprint);
}
END_TEST

/* Exit codes of the unprivileged child. */
enum {
	CHILD_OK,
	CHILD_NO_NOBODY,
	CHILD_DROP_FAILED,
	CHILD_WRONG_ERRNO,
	CHILD_MESSAGE_WITHOUT_DEV_KVM,
	CHILD_RECORD_TOUCHED,
	CHILD_NO_MEMORY,
};

static int probe_as_nobody(void)
{
	struct caps_host_record *r = malloc(sizeof(*r)), *sentinel = malloc(sizeof(*r));
	struct caps_probe_error err;
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("nogroup");
	gid_t gid;
	int ret;

	if (!r || !sentinel)
		return CHILD_NO_MEMORY;
	if (!pw)
		return CHILD_NO_NOBODY;
	if (!gr)
		gr = getgrnam("nobody");
	gid = gr ? gr->gr_gid : pw->pw_gid;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return CHILD_DROP_FAILED;

	memset(r, 0xa5, sizeof(*r));
	memset(sentinel, 0xa5, sizeof(*sentinel));
	ret = caps_host_probe_kvm(r, &err);
	fprintf(stderr, "as nobody: %d: %s\n", ret, err.message);
	if (ret != -EACCES && ret != -EPERM)
		return CHILD_WRONG_ERRNO;
	if (!strstr(err.message, "/dev/kvm"))
		return CHILD_MESSAGE_WITHOUT_DEV_KVM;
	if (memcmp(r, sentinel, sizeof(*r)) != 0)
		return CHILD_RECORD_TOUCHED;
	free(r);
	free(sentinel);
	return CHILD_OK;
}

START_TEST(test_host_probe_kvm_without_permission_says_eacces)
{
	struct stat st;
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		fprintf(stderr, "%s: not root, cannot drop to nobody: not run\n", __func__);
		return;
	}
	ck_assert_int_eq(stat("/dev/kvm", &st), 0);
	if ((st.st_mode & (S_IROTH | S_IWOTH)) == (S_IROTH | S_IWOTH)) {
		fprintf(stderr, "%s: /dev/kvm is open to everyone (mode %o): nothing to deny\n",
			__func__, (unsigned)(st.st_mode & 07777));
		return;
	}

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(probe_as_nobody());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == CHILD_OK, "unprivileged child failed with %d",
		      WEXITSTATUS(status));
}
END_TEST

/* Run only where /dev/kvm is missing: the probe says so, and leaves the record alone. */
START_TEST(test_host_probe_kvm_without_dev_kvm_says_enoent)
{
	struct caps_probe_error err;
	static struct caps_host_record sentinel;

	memset(&rec, 0x5a, sizeof(rec));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	ck_assert_int_eq(caps_host_probe_kvm(&rec, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.message, "/dev/kvm"));
	ck_assert(memcmp(&rec, &sentinel, sizeof(rec)) == 0);
}
END_TEST

/* A fake /sys/module under a temporary directory. */
static char fake_root[64];

static void fake_mkdir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	ck_assert_msg(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
}

static void fake_write(const char *rel, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	f = fopen(path, "we");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void fake_module(const char *module)
{
	char rel[128];

	fake_mkdir(module);
	snprintf(rel, sizeof(rel), "%s/parameters", module);
	fake_mkdir(rel);
}

static void fake_setup(void)
{
	snprintf(fake_root, sizeof(fake_root), "/tmp/hvcap-sysmod-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fake_root));
	fake_module("kvm");
	fake_write("kvm/parameters/tdp_mmu", "Y\n");
	fake_write("kvm/parameters/halt_poll_ns", "200000\n");
}

static int remove_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void fake_teardown(void)
{
	if (fake_root[0])
		nftw(fake_root, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int fake_read(struct caps_host_record *r, struct caps_probe_error *err)
{
	caps_host_record_init(r, CAPS_BACKEND_KVM);
	return caps_host_sys_read_modules(fake_root, r, err);
}

START_TEST(test_host_sys_read_modules_takes_the_sorted_first_vendor)
{
	struct caps_probe_error err;
	char path[256];

	fake_setup();
	fake_module("kvm_pvm");
	fake_write("kvm_pvm/parameters/pvm_native", "Y\n");
	fake_module("kvm_amd");
	fake_write("kvm_amd/parameters/npt", "1\n");
	fake_write("kvm_amd/parameters/avic", "N");	/* no newline: kept as is */
	fake_write("kvm_amd/parameters/empty", "\n");
	fake_module("kvmgt");	/* not a kvm_* module */
	fake_write("kvmgt/parameters/x", "1\n");
	fake_mkdir("kvm_amd/parameters/subdir");	/* not a parameter */
	snprintf(path, sizeof(path), "%s/kvm_amd/parameters/fifo", fake_root);
	ck_assert_int_eq(mkfifo(path, 0600), 0);	/* unreadable without hanging: skipped */
	snprintf(path, sizeof(path), "%s/kvm_amd/parameters/dangling", fake_root);
	ck_assert_int_eq(symlink("/nonexistent/hvcap", path), 0);

	ck_assert_int_eq(fake_read(&rec, &err), 0);
	ck_assert_str_eq(rec.vendor_module, "kvm_amd");
	ck_assert_uint_eq(rec.n_params, 6);
	/* kvm first, then the vendor modules in order, names sorted. */
	ck_assert_str_eq(rec.params[0].module, "kvm");
	ck_assert_str_eq(rec.params[0].name, "halt_poll_ns");
	ck_assert_str_eq(rec.params[0].value, "200000");
	ck_assert_str_eq(rec.params[1].name, "tdp_mmu");
	ck_assert_str_eq(rec.params[2].module, "kvm_amd");
	ck_assert_str_eq(rec.params[2].name, "avic");
	ck_assert_str_eq(rec.params[2].value, "N");
	ck_assert_str_eq(caps_host_record_param(&rec, "kvm_amd", "empty"), "");
	ck_assert_str_eq(caps_host_record_param(&rec, "kvm_amd", "npt"), "1");
	ck_assert_str_eq(caps_host_record_param(&rec, "kvm_pvm", "pvm_native"), "Y");
	ck_assert_ptr_null(caps_host_record_param(&rec, "kvmgt", "x"));
	ck_assert_ptr_null(caps_host_record_param(&rec, "kvm_amd", "fifo"));
}
END_TEST

START_TEST(test_host_sys_read_modules_without_vendor_leaves_it_empty)
{
	struct caps_probe_error err;

	fake_setup();
	ck_assert_int_eq(fake_read(&rec, &err), 0);
	ck_assert_str_eq(rec.vendor_module, "");
	ck_assert_uint_eq(rec.n_params, 2);
}
END_TEST

START_TEST(test_host_sys_read_modules_rejects_an_overlong_value_naming_the_file)
{
	char value[CAPS_PARAM_VALUE_MAX + 2];
	struct caps_probe_error err;

	fake_setup();
	fake_module("kvm_intel");

	/* The longest value that fits, with its newline. */
	memset(value, 'x', CAPS_PARAM_VALUE_MAX - 1);
	strcpy(value + CAPS_PARAM_VALUE_MAX - 1, "\n");
	fake_write("kvm_intel/parameters/fits", value);
	ck_assert_int_eq(fake_read(&rec, &err), 0);
	ck_assert_uint_eq(strlen(caps_host_record_param(&rec, "kvm_intel", "fits")),
			  CAPS_PARAM_VALUE_MAX - 1);

	/* One byte more. */
	memset(value, 'x', CAPS_PARAM_VALUE_MAX);
	strcpy(value + CAPS_PARAM_VALUE_MAX, "\n");
	fake_write("kvm_intel/parameters/toolong", value);
	ck_assert_int_eq(fake_read(&rec, &err), -ENAMETOOLONG);
	ck_assert_msg(strstr(err.message, "kvm_intel/parameters/toolong"), "message: %s",
		      err.message);
}
END_TEST

START_TEST(test_host_sys_read_modules_rejects_more_than_param_max)
{
	struct caps_probe_error err;
	char rel[64];

	fake_setup();
	fake_module("kvm_amd");
	for (int i = 0; i < CAPS_PARAM_MAX - 2; i++) {
		snprintf(rel, sizeof(rel), "kvm_amd/parameters/p%03d", i);
		fake_write(rel, "0\n");
	}
	ck_assert_int_eq(fake_read(&rec, &err), 0);
	ck_assert_uint_eq(rec.n_params, CAPS_PARAM_MAX);

	fake_write("kvm_amd/parameters/z_one_more", "0\n");
	ck_assert_int_eq(fake_read(&rec, &err), -E2BIG);
	ck_assert_msg(strstr(err.message, "z_one_more"), "message: %s", err.message);
}
END_TEST

START_TEST(test_host_sys_read_modules_without_sysfs_says_enoent)
{
	struct caps_probe_error err;

	ck_assert_int_eq(caps_host_sys_read_modules("/nonexistent/hvcap/sys/module", &rec, &err),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/hvcap/sys/module"));
}
END_TEST

START_TEST(test_host_sys_parse_microcode_table)
{
	static const struct {
		const char *text;
		int ret;
		bool has;
		uint64_t value;
	} rows[] = {
		{ "processor\t: 0\nmicrocode\t: 0x1000065\ncpu MHz\t: 2000\n", 0, true, 0x1000065 },
		{ "microcode\t: 0xB4\n", 0, true, 0xb4 },
		{ "microcode : 0x0000000000000001", 0, true, 1 },
		{ "microcode\t: ffffffffffffffff\n", 0, true, UINT64_MAX },
		/* Some hypervisors hide it: absent, not an error. */
		{ "processor\t: 0\nmodel name\t: QEMU\n", 0, false, 0 },
		/* Only the first CPU's block counts. */
		{ "processor\t: 0\n\nprocessor\t: 1\nmicrocode\t: 0x5\n", 0, false, 0 },
		{ "microcode\t: 0x\n", -EINVAL, false, 0 },
		{ "microcode\t: 0xzz\n", -EINVAL, false, 0 },
		{ "microcode\t: 0x12 34\n", -EINVAL, false, 0 },
		{ "microcode\t: 0x10000000000000000\n", -EINVAL, false, 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool has = !rows[i].has;
		uint64_t v = 0xdead;
		int r = caps_host_sys_parse_microcode(rows[i].text, strlen(rows[i].text), &has, &v);

		ck_assert_msg(r == rows[i].ret, "row %zu: %d", i, r);
		if (r < 0) {
			/* Outputs untouched on failure. */
			ck_assert(has == !rows[i].has);
			ck_assert_uint_eq(v, 0xdead);
			continue;
		}
		ck_assert_msg(has == rows[i].has, "row %zu", i);
		ck_assert_msg(v == rows[i].value, "row %zu: 0x%llx", i, (unsigned long long)v);
	}
}
END_TEST

START_TEST(test_kernel_flags_parse_table)
{
	static const char flags_and_bugs[] =
		"processor\t: 0\nflags\t\t: fpu sse sse2 eraps\nbugs\t\t: spectre_v1 srso\n\n"
		"processor\t: 1\nflags\t\t: other\n";
	static const char flags_only[] = "processor\t: 0\nflags\t\t: fpu vme\n";
	static const char no_flags[] = "processor\t: 0\nbugs\t\t: spectre_v1\n";
	struct caps_kernel_flags k, untouched;
	char *long_line;
	size_t n;

	ck_assert_int_eq(caps_kernel_flags_parse(flags_and_bugs, strlen(flags_and_bugs), &k), 0);
	ck_assert_str_eq(k.flags, "fpu sse sse2 eraps");
	ck_assert_str_eq(k.bugs, "spectre_v1 srso");

	ck_assert_int_eq(caps_kernel_flags_parse(flags_only, strlen(flags_only), &k), 0);
	ck_assert_str_eq(k.flags, "fpu vme");
	ck_assert_str_eq(k.bugs, "");

	memset(&k, 0x33, sizeof(k));
	memset(&untouched, 0x33, sizeof(untouched));
	ck_assert_int_eq(caps_kernel_flags_parse(no_flags, strlen(no_flags), &k), -ENOENT);
	ck_assert(memcmp(&k, &untouched, sizeof(k)) == 0);

	/* A flags line longer than the record holds is an error, not a truncation. */
	n = strlen("flags\t: ") + CAPS_KERNEL_FLAGS_MAX + 2;
	long_line = malloc(n);
	ck_assert_ptr_nonnull(long_line);
	strcpy(long_line, "flags\t: ");
	memset(long_line + strlen(long_line), 'a', CAPS_KERNEL_FLAGS_MAX);
	strcpy(long_line + n - 2, "\n");
	ck_assert_int_lt(caps_kernel_flags_parse(long_line, strlen(long_line), &k), 0);
	ck_assert(memcmp(&k, &untouched, sizeof(k)) == 0);
	free(long_line);
}
END_TEST

START_TEST(test_kernel_has_flag_matches_whole_words)
{
	static const char text[] = "flags\t: fpu sse2 ssse3 eraps\nbugs\t: spectre_v2 srso\n";
	struct caps_kernel_flags k;

	ck_assert_int_eq(caps_kernel_flags_parse(text, strlen(text), &k), 0);
	ck_assert(caps_kernel_has_flag(&k, "fpu"));
	ck_assert(caps_kernel_has_flag(&k, "sse2"));
	ck_assert(caps_kernel_has_flag(&k, "eraps"));
	ck_assert(!caps_kernel_has_flag(&k, "sse"));
	ck_assert(!caps_kernel_has_flag(&k, "sse3"));
	ck_assert(!caps_kernel_has_flag(&k, "fp"));
	ck_assert(!caps_kernel_has_flag(&k, ""));
	ck_assert(!caps_kernel_has_flag(&k, "srso"));
	ck_assert(caps_kernel_has_bug(&k, "srso"));
	ck_assert(caps_kernel_has_bug(&k, "spectre_v2"));
	ck_assert(!caps_kernel_has_bug(&k, "spectre"));
	ck_assert(!caps_kernel_has_bug(&k, "fpu"));
}
END_TEST

START_TEST(test_msr_to_feature_form_reduces_vmx_controls)
{
	/* allowed-1 0x0000fff0, must-be-1 0x00000ff0: software may choose 0xf000. */
	const uint64_t ctls = UINT64_C(0x0000fff000000ff0);

	ck_assert_uint_eq(caps_msr_to_feature_form(0x48b, ctls), 0xf000);
	ck_assert_uint_eq(caps_msr_to_feature_form(0x48d, ctls), 0xf000);
	ck_assert_uint_eq(caps_msr_to_feature_form(0x48e, ctls), 0xf000);
	ck_assert_uint_eq(caps_msr_to_feature_form(0x48f, ctls), 0xf000);
	ck_assert_uint_eq(caps_msr_to_feature_form(0x490, ctls), 0xf000);
	/* Not reduced: the non-TRUE controls, VMX_BASIC, ARCH_CAPABILITIES. */
	ck_assert_uint_eq(caps_msr_to_feature_form(0x482, ctls), ctls);
	ck_assert_uint_eq(caps_msr_to_feature_form(0x480, ctls), ctls);
	ck_assert_uint_eq(caps_msr_to_feature_form(0x10a, ctls), ctls);
	ck_assert_uint_eq(caps_msr_to_feature_form(0x491, ctls), ctls);
}
END_TEST

START_TEST(test_host_record_add_param_limits)
{
	char name[16], long_module[CAPS_PARAM_MODULE_MAX + 1], long_name[CAPS_PARAM_NAME_MAX + 1],
		long_value[CAPS_PARAM_VALUE_MAX + 1];

	caps_host_record_init(&rec, CAPS_BACKEND_KVM);
	memset(long_module, 'm', sizeof(long_module) - 1);
	long_module[sizeof(long_module) - 1] = '\0';
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';

	ck_assert_int_eq(caps_host_record_add_param(&rec, long_module, "n", "v"), -ENAMETOOLONG);
	ck_assert_int_eq(caps_host_record_add_param(&rec, "kvm", long_name, "v"), -ENAMETOOLONG);
	ck_assert_int_eq(caps_host_record_add_param(&rec, "kvm", "n", long_value), -ENAMETOOLONG);
	ck_assert_uint_eq(rec.n_params, 0);

	/* One byte shorter fits. */
	long_value[CAPS_PARAM_VALUE_MAX - 1] = '\0';
	ck_assert_int_eq(caps_host_record_add_param(&rec, "kvm", "n", long_value), 0);
	for (int i = 1; i < CAPS_PARAM_MAX; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		ck_assert_int_eq(caps_host_record_add_param(&rec, "kvm", name, "0"), 0);
	}
	ck_assert_uint_eq(rec.n_params, CAPS_PARAM_MAX);
	ck_assert_int_eq(caps_host_record_add_param(&rec, "kvm", "full", "0"), -E2BIG);
	ck_assert_uint_eq(rec.n_params, CAPS_PARAM_MAX);
	ck_assert_str_eq(caps_host_record_param(&rec, "kvm", "n"), long_value);
}
END_TEST

/* The fingerprint ignores the asking CPU's APIC IDs and nothing else of those registers. */
START_TEST(test_host_record_fingerprint_ignores_apic_ids)
{
	static struct caps_host_record a, b;
	struct caps_cpuid_entry l1 = { .function = 1, .eax = 0xa10f11, .ebx = 0x00020800 };
	struct caps_cpuid_entry lb = { .function = 0xb, .flags = 1, .edx = 0 };

	caps_host_record_init(&a, CAPS_BACKEND_KVM);
	ck_assert_int_eq(caps_cpuid_add(&a.supported, &l1), 0);
	ck_assert_int_eq(caps_cpuid_add(&a.supported, &lb), 0);
	b = a;
	caps_host_record_finish(&a);
	/* CPU 5 asking: APIC ID 5 in 1.EBX[31:24] and 0xB.EDX. */
	b.supported.entries[0].ebx |= 5u << 24;
	b.supported.entries[1].edx = 5;
	caps_host_record_finish(&b);
	ck_assert_str_eq(a.fingerprint, b.fingerprint);
	/* The CLFLUSH line size (1.EBX[15:8]) is no per-CPU value. */
	b.supported.entries[0].ebx ^= 1u << 8;
	caps_host_record_finish(&b);
	ck_assert_str_ne(a.fingerprint, b.fingerprint);
}
END_TEST

static void add_offline_tests(Suite *s)
{
	TCase *tc;

	tc = tcase_create("sys");
	tcase_add_checked_fixture(tc, NULL, fake_teardown);
	tcase_add_test(tc, test_host_sys_read_modules_takes_the_sorted_first_vendor);
	tcase_add_test(tc, test_host_sys_read_modules_without_vendor_leaves_it_empty);
	tcase_add_test(tc, test_host_sys_read_modules_rejects_an_overlong_value_naming_the_file);
	tcase_add_test(tc, test_host_sys_read_modules_rejects_more_than_param_max);
	tcase_add_test(tc, test_host_sys_read_modules_without_sysfs_says_enoent);
	tcase_add_test(tc, test_host_sys_parse_microcode_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("kernel_flags");
	tcase_add_test(tc, test_kernel_flags_parse_table);
	tcase_add_test(tc, test_kernel_has_flag_matches_whole_words);
	suite_add_tcase(s, tc);

	tc = tcase_create("record");
	tcase_add_test(tc, test_msr_to_feature_form_reduces_vmx_controls);
	tcase_add_test(tc, test_host_record_add_param_limits);
	tcase_add_test(tc, test_host_record_fingerprint_ignores_apic_ids);
	suite_add_tcase(s, tc);
}

static void add_kvm_tests(Suite *s)
{
	TCase *tc;

	tc = tcase_create("cpuid");
	tcase_add_test(tc, test_host_probe_kvm_supported_cpuid_matches_the_ioctl);
	tcase_add_test(tc, test_host_probe_kvm_emulated_cpuid_matches_the_ioctl);
	tcase_add_test(tc, test_kvm_get_cpuid_follows_the_e2big_rules);
	tcase_add_test(tc, test_kvm_get_emulated_cpuid_rejects_nonzero_padding);
	suite_add_tcase(s, tc);

	tc = tcase_create("msrs_and_caps");
	tcase_add_test(tc, test_host_probe_kvm_feature_msrs_are_kvm_listed_values);
	tcase_add_test(tc, test_host_probe_kvm_caps_are_check_extension_answers);
	suite_add_tcase(s, tc);

	tc = tcase_create("system");
	tcase_add_test(tc, test_host_probe_kvm_params_cover_every_readable_file);
	tcase_add_test(tc, test_host_probe_kvm_kernel_release_is_uname);
	tcase_add_test(tc, test_host_probe_kvm_microcode_is_the_proc_cpuinfo_field);
	suite_add_tcase(s, tc);

	tc = tcase_create("fingerprint");
	tcase_add_test(tc, test_host_record_fingerprint_is_stable_across_probes);
	tcase_add_test(tc, test_host_record_fingerprint_changes_with_param_release_and_cpuid);
	suite_add_tcase(s, tc);

	tc = tcase_create("permission");
	tcase_add_test(tc, test_host_probe_kvm_without_permission_says_eacces);
	suite_add_tcase(s, tc);
}

int main(void)
{
	Suite *s = suite_create("host-probe");
	const char *why = NULL;
	TCase *tc;
	int fd, r;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		add_kvm_tests(s);
	} else if (errno == ENOENT) {
		why = "/dev/kvm does not exist";
		tc = tcase_create("no_kvm");
		tcase_add_test(tc, test_host_probe_kvm_without_dev_kvm_says_enoent);
		suite_add_tcase(s, tc);
	} else {
		why = errno == EACCES ? "/dev/kvm: Permission denied" : "/dev/kvm cannot be opened";
	}
	add_offline_tests(s);

	r = test_run_suite(s);
	if (r == EXIT_SUCCESS && why) {
		printf("SKIP: %s: the KVM probe tests need it (the offline tests passed)\n", why);
		return TEST_EXIT_SKIP;
	}
	return r;
}
