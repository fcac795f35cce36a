/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control-plane reader (hvcap/hvcap.h) against files that
 * control-fixture.h writes as hvcap/control.h says: every function on
 * valid files, every corruption, a fuzz loop, and a writer racing readers.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hvcap/hvcap.h>
#include <libcaps/caps.h>

#include "control-fixture.h"
#include "test-util.h"

/* ---- a fixture: three VMs ---------------------------------------------- */

struct env {
	char dir[PATH_MAX - 16];
	char path[PATH_MAX];
	struct ctl_fixture f;
	int64_t web0, web1, db0, db1, db2;	/* their control pages */
};

static const int web_features[] = { X86_FEATURE_FPU, X86_FEATURE_XMM2, X86_FEATURE_AVX2, X86_FEATURE_ERAPS };
static const int db_features[] = { X86_FEATURE_FPU, X86_FEATURE_XMM2 };

static void env_make(struct env *e, bool snp, uint64_t n_pages, uint64_t max_pages)
{
	const char *tmp = getenv("TMPDIR");
	uint32_t caps[HVCAP_CTL_CAP_WORDS];
	int slot;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "%s/hvcap-ctl-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/control", e->dir);
	ck_assert_int_eq(fix_create(&e->f, e->path, 8, n_pages, max_pages, snp), 0);

	fix_host_begin(&e->f);
	fix_caps(caps, web_features, 4);
	memcpy(e->f.host->host_caps, caps, sizeof(caps));
	e->f.host->host_caps[X86_FEATURE_SVM / 32] |= caps_feature_mask(X86_FEATURE_SVM);
	memcpy(e->f.host->kvm_caps, caps, sizeof(caps));
	fix_host_end(&e->f);
	fix_publish(&e->f);

	slot = fix_vm_add(&e->f, 1, "web", "web-tier-amd");
	ck_assert_int_ge(slot, 0);
	fix_caps(caps, web_features, 4);
	e->web0 = fix_vcpu_add(&e->f, (uint32_t)slot, 0, caps);
	e->web1 = fix_vcpu_add(&e->f, (uint32_t)slot, 1, caps);
	slot = fix_vm_add(&e->f, 2, "db", "x86-64-v3");
	ck_assert_int_ge(slot, 0);
	fix_caps(caps, db_features, 2);
	e->db0 = fix_vcpu_add(&e->f, (uint32_t)slot, 0, caps);
	e->db1 = fix_vcpu_add(&e->f, (uint32_t)slot, 1, caps);
	e->db2 = fix_vcpu_add(&e->f, (uint32_t)slot, 2, caps);
	ck_assert_int_ge(fix_vm_add(&e->f, 7, "batch", "host-passthrough"), 0);
	ck_assert(e->web0 >= 0 && e->web1 >= 0 && e->db0 >= 0 && e->db1 >= 0 && e->db2 >= 0);
}

static void env_init(struct env *e)
{
	env_make(e, false, 32, 1024);
}

static void env_done(struct env *e)
{
	fix_close(&e->f);
	unlink(e->path);
	rmdir(e->dir);
}

/*
 * Open, as a client should: -EAGAIN (a writer kept the header busy for
 * longer than a reader waits, e.g. the torture's writer thread on a loaded
 * machine) means call again.
 */
static struct hvcap_control *open_ok(const char *path)
{
	struct hvcap_control *cp = NULL;
	int r;

	for (int tries = 0; (r = hvcap_control_open(path, &cp)) == -EAGAIN && tries < 1000; tries++)
		usleep(1000);
	ck_assert_msg(r == 0, "hvcap_control_open: %s", strerror(-r));
	ck_assert_ptr_nonnull(cp);
	return cp;
}

static int open_rc(const char *path)
{
	struct hvcap_control *cp = (struct hvcap_control *)&cp;	/* must stay untouched on failure */
	int r = hvcap_control_open(path, &cp);

	if (r == 0)
		hvcap_control_close(cp);
	else
		ck_assert_ptr_eq(cp, (struct hvcap_control *)&cp);
	return r;
}

/* ---- open --------------------------------------------------------------- */

START_TEST(test_control_open_valid_file_maps_it)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_control_stats st;
	uint64_t gen;

	env_init(&e);
	cp = open_ok(e.path);
	ck_assert_int_eq(hvcap_control_generation(cp, &gen), 0);
	ck_assert_uint_eq(gen, 1);
	hvcap_control_get_stats(cp, &st);
	ck_assert_uint_eq(st.remaps, 0);
	ck_assert_uint_gt(st.reads, 0);
	hvcap_control_close(cp);
	hvcap_control_close(NULL);
	hvcap_control_get_stats(NULL, &st);
	ck_assert_uint_eq(st.reads, 0);
	env_done(&e);
}
END_TEST

START_TEST(test_control_open_rejects_null_and_missing)
{
	struct hvcap_control *cp;
	char dir[] = "/tmp/hvcap-ctl-XXXXXX";

	ck_assert_int_eq(hvcap_control_open("/nonexistent/hvcap/control", NULL), -EINVAL);
	ck_assert_int_eq(hvcap_control_open("/nonexistent/hvcap/control", &cp), -ENOENT);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* A directory is not a control file. */
	ck_assert_int_eq(open_rc(dir), -EBADMSG);
	rmdir(dir);
}
END_TEST

START_TEST(test_control_path_resolve_follows_env_then_defaults)
{
	char buf[PATH_MAX], small[8];

	ck_assert_int_eq(hvcap_control_path_resolve("/x/control", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/x/control");
	setenv(HVCAP_CONTROL_ENV, "/env/control", 1);
	ck_assert_int_eq(hvcap_control_path_resolve(NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/env/control");
	ck_assert_int_eq(hvcap_control_path_resolve("", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/env/control");
	ck_assert_int_eq(hvcap_control_path_resolve("/x/control", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/x/control");

	setenv(HVCAP_CONTROL_ENV, "", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	ck_assert_int_eq(hvcap_control_path_resolve(NULL, buf, sizeof(buf)), 0);
	if (geteuid() == 0)
		ck_assert_str_eq(buf, HVCAP_CONTROL_SYSTEM);
	else
		ck_assert_str_eq(buf, "/run/user/4242/hvcap/control");
	unsetenv("XDG_RUNTIME_DIR");
	ck_assert_int_eq(hvcap_control_path_resolve(NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, HVCAP_CONTROL_SYSTEM);
	setenv("XDG_RUNTIME_DIR", "relative", 1);
	ck_assert_int_eq(hvcap_control_path_resolve(NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, HVCAP_CONTROL_SYSTEM);

	strcpy(small, "keep");
	ck_assert_int_eq(hvcap_control_path_resolve("/a/long/path", small, sizeof(small)), -ENOBUFS);
	ck_assert_str_eq(small, "keep");
	ck_assert_int_eq(hvcap_control_path_resolve("/x", NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_control_open_null_path_uses_env)
{
	struct env e;
	struct hvcap_control *cp;

	env_init(&e);
	setenv(HVCAP_CONTROL_ENV, e.path, 1);
	cp = open_ok(NULL);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, X86_FEATURE_AVX2), 1);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

START_TEST(test_control_open_rejects_wrong_magic)
{
	struct env e;

	env_init(&e);
	e.f.hdr->magic[7] = 'X';
	ck_assert_int_eq(open_rc(e.path), -EBADMSG);
	memset(e.f.hdr->magic, 0, sizeof(e.f.hdr->magic));
	ck_assert_int_eq(open_rc(e.path), -EBADMSG);
	env_done(&e);
}
END_TEST

START_TEST(test_control_open_rejects_other_abi_major)
{
	struct env e;

	env_init(&e);
	e.f.hdr->abi_major = HVCAP_CTL_ABI_MAJOR + 1;
	ck_assert_int_eq(open_rc(e.path), -EPROTONOSUPPORT);
	e.f.hdr->abi_major = 0;
	ck_assert_int_eq(open_rc(e.path), -EPROTONOSUPPORT);
	/* A newer minor is a compatible addition. */
	e.f.hdr->abi_major = HVCAP_CTL_ABI_MAJOR;
	e.f.hdr->abi_minor = HVCAP_CTL_ABI_MINOR + 3;
	ck_assert_int_eq(open_rc(e.path), 0);
	env_done(&e);
}
END_TEST

/* Feature ids mean something only with the same word numbering. */
START_TEST(test_control_open_rejects_other_word_numbering)
{
	struct env e;

	env_init(&e);
	ck_assert_uint_eq(e.f.hdr->cap_words_hash, caps_word_names_hash(NR_CAPS_WORDS));
	e.f.hdr->cap_words_hash ^= 1;
	ck_assert_int_eq(open_rc(e.path), -EPROTONOSUPPORT);
	/* Fewer words, numbered alike: a prefix of ours, accepted. */
	e.f.hdr->n_cap_words = NR_CAPS_WORDS - 1;
	e.f.hdr->cap_words_hash = caps_word_names_hash(NR_CAPS_WORDS - 1);
	ck_assert_int_eq(open_rc(e.path), 0);
	/* More words than this library knows: it cannot check them. */
	e.f.hdr->n_cap_words = NR_CAPS_WORDS + 1;
	ck_assert_int_eq(open_rc(e.path), -EPROTONOSUPPORT);
	env_done(&e);
}
END_TEST

START_TEST(test_control_open_rejects_short_files)
{
	struct env e;

	env_init(&e);
	/* Longer than file_size is fine (hvcapd extends before it publishes). */
	ck_assert_int_eq(truncate(e.path, (off_t)(e.f.control_base + (e.f.n_pages + 2) * FIX_PAGE)), 0);
	ck_assert_int_eq(open_rc(e.path), 0);
	/* Everything but the last control page: below file_size. */
	ck_assert_int_eq(truncate(e.path, (off_t)(e.f.control_base + (e.f.n_pages - 1) * FIX_PAGE)), 0);
	ck_assert_int_eq(open_rc(e.path), -EBADMSG);
	/* The header is there, the rest is not. */
	ck_assert_int_eq(truncate(e.path, HVCAP_CTL_PAGE_SIZE), 0);
	ck_assert_int_eq(open_rc(e.path), -EBADMSG);
	ck_assert_int_eq(truncate(e.path, HVCAP_CTL_PAGE_SIZE - 1), 0);
	ck_assert_int_eq(open_rc(e.path), -EBADMSG);
	ck_assert_int_eq(truncate(e.path, 100), 0);
	ck_assert_int_eq(open_rc(e.path), -EBADMSG);
	ck_assert_int_eq(truncate(e.path, 0), 0);
	ck_assert_int_eq(open_rc(e.path), -EBADMSG);
	env_done(&e);
}
END_TEST

START_TEST(test_control_open_rejects_bad_layout)
{
	struct env e;
	struct hvcap_ctl_header saved;

	env_init(&e);
	memcpy(&saved, e.f.hdr, sizeof(saved));
#define BAD_LAYOUT(stmt) do { \
		stmt; \
		ck_assert_msg(open_rc(e.path) == -EBADMSG, "accepted: %s", #stmt); \
		memcpy(e.f.hdr, &saved, sizeof(saved)); \
		ck_assert_int_eq(open_rc(e.path), 0); \
	} while (0)
	BAD_LAYOUT(e.f.hdr->page_size = 8192);
	BAD_LAYOUT(e.f.hdr->header_size = 128);
	BAD_LAYOUT(e.f.hdr->host_size--);
	BAD_LAYOUT(e.f.hdr->vm_size = 512);
	BAD_LAYOUT(e.f.hdr->vcpu_size = 1024);
	BAD_LAYOUT(e.f.hdr->n_cap_words = HVCAP_CTL_CAP_WORDS + 1);
	BAD_LAYOUT(e.f.hdr->n_cap_words = 0);
	BAD_LAYOUT(e.f.hdr->n_cap_words = UINT32_MAX);
	BAD_LAYOUT(e.f.hdr->host_offset = 0);
	BAD_LAYOUT(e.f.hdr->host_offset += 8);
	BAD_LAYOUT(e.f.hdr->host_offset = e.f.control_base);
	BAD_LAYOUT(e.f.hdr->host_offset = UINT64_MAX - 4095);
	BAD_LAYOUT(e.f.hdr->vm_table_offset = 0);
	BAD_LAYOUT(e.f.hdr->vm_table_offset = e.f.hdr->host_offset);
	BAD_LAYOUT(e.f.hdr->vm_table_offset = UINT64_MAX - 4095);
	BAD_LAYOUT(e.f.hdr->vm_table_capacity = UINT32_MAX);
	BAD_LAYOUT(e.f.hdr->control_base += FIX_PAGE);
	BAD_LAYOUT(e.f.hdr->control_base = 0);
	BAD_LAYOUT(e.f.hdr->control_base = UINT64_C(1) << 62);
	/* The variable part, sealed: only the values are wrong. */
	BAD_LAYOUT((e.f.hdr->file_size = e.f.control_base - 1, fix_header_seal(&e.f)));
	BAD_LAYOUT((e.f.hdr->file_size += 2 * FIX_PAGE, fix_header_seal(&e.f)));
	BAD_LAYOUT((e.f.hdr->n_control_pages++, fix_header_seal(&e.f)));
	BAD_LAYOUT((e.f.hdr->n_control_pages = UINT64_MAX / 2, fix_header_seal(&e.f)));
	BAD_LAYOUT((e.f.hdr->n_vms = 9, fix_header_seal(&e.f)));
	BAD_LAYOUT((e.f.hdr->state = 3, fix_header_seal(&e.f)));
	BAD_LAYOUT(e.f.hdr->updates++);
	BAD_LAYOUT(e.f.hdr->reserved1[18] = 1);
#undef BAD_LAYOUT
	env_done(&e);
}
END_TEST

START_TEST(test_control_open_waits_for_nothing)
{
	struct env e;

	env_init(&e);
	fix_set_state(&e.f, HVCAP_CTL_STATE_STARTING);
	ck_assert_int_eq(open_rc(e.path), -EAGAIN);
	/* Still being built: nothing in it means anything, its check neither. */
	e.f.hdr->check ^= 1;
	ck_assert_int_eq(open_rc(e.path), -EAGAIN);
	fix_set_state(&e.f, HVCAP_CTL_STATE_STOPPED);
	ck_assert_int_eq(open_rc(e.path), -ESTALE);
	/* hvcapd is writing the header, and never finishes. */
	fix_set_state(&e.f, HVCAP_CTL_STATE_RUNNING);
	fix_header_begin(&e.f);
	ck_assert_int_eq(open_rc(e.path), -EAGAIN);
	fix_header_end(&e.f);
	ck_assert_int_eq(open_rc(e.path), 0);
	env_done(&e);
}
END_TEST

/* ---- the host ----------------------------------------------------------- */

START_TEST(test_control_host_caps_answer_from_the_record)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_host_state hs;
	uint32_t n_features = FIX_CAP_WORDS * 32;

	env_init(&e);
	cp = open_ok(e.path);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, X86_FEATURE_AVX2), 1);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, X86_FEATURE_AVX512F), 0);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, X86_FEATURE_SVM), 0);
	ck_assert_int_eq(hvcap_control_host_cpu_has(cp, X86_FEATURE_SVM), 1);
	ck_assert_int_eq(hvcap_control_host_cpu_has(cp, X86_FEATURE_LAM), 0);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, -1), -EINVAL);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, (int)n_features), -EINVAL);
	ck_assert_int_eq(hvcap_control_host_cpu_has(cp, INT32_MAX), -EINVAL);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, (int)n_features - 1), 0);
	ck_assert_int_eq(hvcap_control_host_cap_has(NULL, 0), -EINVAL);

	ck_assert_int_eq(hvcap_control_read_host(cp, &hs), 0);
	ck_assert_uint_eq(hs.backend, HVCAP_CTL_BACKEND_MODEL);
	ck_assert_uint_eq(hs.api_version, 12);
	ck_assert_str_eq(hs.kernel_release, "6.18.0-fixture");
	ck_assert_str_eq(hs.vendor_module, "kvm_amd");
	ck_assert_str_eq(hs.fingerprint, "hvcap1-0000000000005eed");
	ck_assert_uint_eq(hs.microcode, 0xa201016);
	ck_assert_uint_eq(hs.n_cap_words, FIX_CAP_WORDS);
	ck_assert(caps_has((const struct caps *)(const void *)hs.kvm_caps, X86_FEATURE_ERAPS));
	ck_assert_uint_eq(hs.n_params, 2);
	ck_assert_str_eq(hs.params[1].module, "kvm_amd");
	ck_assert_str_eq(hs.params[1].name, "avic");
	ck_assert_str_eq(hs.params[1].value, "1");
	ck_assert_int_eq(hvcap_control_read_host(cp, NULL), -EINVAL);

	/* hvcapd changes the record: the next query sees it. */
	fix_host_begin(&e.f);
	e.f.host->kvm_caps[X86_FEATURE_AVX2 / 32] &= ~caps_feature_mask(X86_FEATURE_AVX2);
	fix_host_end(&e.f);
	fix_publish(&e.f);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, X86_FEATURE_AVX2), 0);
	ck_assert_int_eq(hvcap_control_host_cpu_has(cp, X86_FEATURE_AVX2), 1);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

START_TEST(test_control_host_rejects_corrupt_records)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_host_state hs;
	struct hvcap_ctl_host saved;

	env_init(&e);
	cp = open_ok(e.path);
	memcpy(&saved, e.f.host, sizeof(saved));
#define BAD_HOST(stmt, err) do { \
		fix_host_begin(&e.f); \
		stmt; \
		fix_host_end(&e.f); \
		ck_assert_msg(hvcap_control_read_host(cp, &hs) == (err), "read_host after %s", #stmt); \
		ck_assert_msg(hvcap_control_host_cap_has(cp, X86_FEATURE_FPU) == ((err) ? (err) : 1), \
			      "host_cap_has after %s", #stmt); \
		fix_host_begin(&e.f); \
		memcpy((char *)e.f.host + 8, (char *)&saved + 8, sizeof(saved) - 8); \
		fix_host_end(&e.f); \
		ck_assert_int_eq(hvcap_control_read_host(cp, &hs), 0); \
	} while (0)
	BAD_HOST(memset(e.f.host->fingerprint, 'f', sizeof(e.f.host->fingerprint)), -EBADMSG);
	/* 64 bytes is the longest; a NUL after that is past what a reader keeps. */
	BAD_HOST((memset(e.f.host->fingerprint, 'f', sizeof(e.f.host->fingerprint)),
		  e.f.host->fingerprint[HVCAP_CTL_FINGERPRINT_MAX] = 0), 0);
	BAD_HOST((memset(e.f.host->fingerprint, 'f', sizeof(e.f.host->fingerprint)),
		  e.f.host->fingerprint[70] = 0), -EBADMSG);
	BAD_HOST(memset(e.f.host->kernel_release, 'k', sizeof(e.f.host->kernel_release)), -EBADMSG);
	BAD_HOST(memset(e.f.host->vendor_module, 'v', sizeof(e.f.host->vendor_module)), -EBADMSG);
	BAD_HOST(e.f.host->n_params = HVCAP_CTL_MAX_PARAMS + 1, -EBADMSG);
	BAD_HOST(memset(e.f.host->params[1].value, 'x', sizeof(e.f.host->params[1].value)), -EBADMSG);
	BAD_HOST(memset(e.f.host->params[0].name, 'x', sizeof(e.f.host->params[0].name)), -EBADMSG);
	BAD_HOST(memset(e.f.host->params[1].module, 'x', sizeof(e.f.host->params[1].module)), -EBADMSG);
	BAD_HOST(e.f.host->backend = 0, -EBADMSG);
	BAD_HOST(e.f.host->flags = 1u << 7, -EBADMSG);
	/* Parameters past n_params are not read. */
	BAD_HOST(memset(e.f.host->params[5].value, 'x', sizeof(e.f.host->params[5].value)), 0);
	/* Not sealed: the check does not match. */
	e.f.host->kvm_caps[0] ^= 1;
	fix_publish(&e.f);
	fix_write_begin(&e.f.host->seq);
	fix_write_end(&e.f.host->seq);
	ck_assert_int_eq(hvcap_control_read_host(cp, &hs), -EBADMSG);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, 0), -EBADMSG);
	/* hvcapd is writing it, forever. */
	fix_host_begin(&e.f);
	ck_assert_int_eq(hvcap_control_host_cpu_has(cp, 0), -EAGAIN);
	hvcap_control_close(cp);
#undef BAD_HOST
	env_done(&e);
}
END_TEST

/* ---- vCPUs -------------------------------------------------------------- */

START_TEST(test_control_guest_cpu_cap_has_answers_per_vcpu)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_control_stats st;

	env_init(&e);
	cp = open_ok(e.path);
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), 1);
		ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 1, X86_FEATURE_ERAPS), 1);
		ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 1, X86_FEATURE_LAM), 0);
		ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 2, 2, X86_FEATURE_AVX2), 0);
		ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 2, 2, X86_FEATURE_XMM2), 1);
	}
	hvcap_control_get_stats(cp, &st);
	ck_assert_uint_ge(st.cache_hits, 8);

	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 3, 0, X86_FEATURE_FPU), -ENOENT);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 2, X86_FEATURE_FPU), -ENOENT);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 7, 0, X86_FEATURE_FPU), -ENOENT);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 0, 0, X86_FEATURE_FPU), -ENOENT);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, UINT32_MAX, UINT32_MAX, 0), -ENOENT);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, -1), -EINVAL);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, FIX_CAP_WORDS * 32), -EINVAL);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, INT32_MIN), -EINVAL);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(NULL, 1, 0, 0), -EINVAL);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

START_TEST(test_control_read_vcpu_copies_the_page)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_vcpu_state vs;
	struct hvcap_ctl_vcpu *p;

	env_init(&e);
	cp = open_ok(e.path);
	ck_assert_int_eq(hvcap_control_read_vcpu(cp, 2, 1, &vs), 0);
	ck_assert_uint_eq(vs.vm_id, 2);
	ck_assert_uint_eq(vs.vcpu_id, 1);
	ck_assert(!vs.cpuid_frozen && !vs.guest_mode && !vs.rap_dirty && vs.apicv_active);
	ck_assert_uint_eq(vs.apic_mode, HVCAP_CTL_APIC_XAPIC);
	ck_assert_uint_eq(vs.apic_base, 0xfee00900);
	ck_assert_uint_eq(vs.maxphyaddr, 48);
	ck_assert_uint_eq(vs.n_cpuid_entries, 42);
	ck_assert_uint_eq(vs.control_page_offset, e.f.control_base + (uint64_t)e.db1 * FIX_PAGE);
	ck_assert_uint_eq(vs.n_cap_words, FIX_CAP_WORDS);
	ck_assert(caps_has((const struct caps *)(const void *)vs.cpu_caps, X86_FEATURE_XMM2));
	for (unsigned w = FIX_CAP_WORDS; w < HVCAP_CTL_CAP_WORDS; w++)
		ck_assert_uint_eq(vs.cpu_caps[w], 0);

	/* hvcapd runs the vCPU: VMRUN with CLEAR_RAP, then L2. */
	p = fix_page(&e.f, (uint64_t)e.db1);
	fix_page_begin(&e.f, (uint64_t)e.db1);
	p->flags |= HVCAP_CTL_VCPU_CPUID_FROZEN | HVCAP_CTL_VCPU_GUEST_MODE | HVCAP_CTL_VCPU_RAP_DIRTY;
	p->erap_ctl = HVCAP_CTL_ERAP_ALLOW_LARGER_RAP | HVCAP_CTL_ERAP_CLEAR_RAP;
	p->vmcb02_erap_ctl = HVCAP_CTL_ERAP_CLEAR_RAP;
	p->apic_mode = HVCAP_CTL_APIC_X2APIC;
	p->cr3 = 0x1000;
	p->cpu_caps[X86_FEATURE_LAM / 32] |= caps_feature_mask(X86_FEATURE_LAM);
	/* Words past n_cap_words are not the reader's. */
	p->cpu_caps[HVCAP_CTL_CAP_WORDS - 1] = 0xdead;
	fix_page_end(&e.f, (uint64_t)e.db1);
	fix_publish(&e.f);
	ck_assert_int_eq(hvcap_control_read_vcpu(cp, 2, 1, &vs), 0);
	ck_assert(vs.cpuid_frozen && vs.guest_mode && vs.rap_dirty);
	ck_assert_uint_eq(vs.erap_ctl, 3);
	ck_assert_uint_eq(vs.vmcb02_erap_ctl, 2);
	ck_assert_uint_eq(vs.apic_mode, HVCAP_CTL_APIC_X2APIC);
	ck_assert_uint_eq(vs.cr3, 0x1000);
	ck_assert_uint_eq(vs.cpu_caps[HVCAP_CTL_CAP_WORDS - 1], 0);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 2, 1, X86_FEATURE_LAM), 1);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 2, 0, X86_FEATURE_LAM), 0);

	ck_assert_int_eq(hvcap_control_read_vcpu(cp, 2, 3, &vs), -ENOENT);
	ck_assert_int_eq(hvcap_control_read_vcpu(cp, 9, 0, &vs), -ENOENT);
	ck_assert_int_eq(hvcap_control_read_vcpu(cp, 2, 0, NULL), -EINVAL);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

START_TEST(test_control_guest_cap_change_is_seen_through_the_cache)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_ctl_vcpu *p;

	env_init(&e);
	cp = open_ok(e.path);
	p = fix_page(&e.f, (uint64_t)e.web0);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_LAM), i % 2);
		ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_LAM), i % 2);
		fix_page_begin(&e.f, (uint64_t)e.web0);
		p->cpu_caps[X86_FEATURE_LAM / 32] ^= caps_feature_mask(X86_FEATURE_LAM);
		fix_page_end(&e.f, (uint64_t)e.web0);
	}
	/* A change hvcapd has not finished is never seen, nor is the old value: -EAGAIN. */
	fix_page_begin(&e.f, (uint64_t)e.web0);
	p->cpu_caps[X86_FEATURE_LAM / 32] ^= caps_feature_mask(X86_FEATURE_LAM);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_LAM), -EAGAIN);
	fix_page_end(&e.f, (uint64_t)e.web0);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_LAM), 1);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

START_TEST(test_control_cache_follows_a_reused_page)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_vcpu_state vs;
	uint32_t caps[HVCAP_CTL_CAP_WORDS];
	const int lam[] = { X86_FEATURE_LAM };
	int slot;
	int64_t pfn;

	env_init(&e);
	cp = open_ok(e.path);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), 1);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 1, X86_FEATURE_AVX2), 1);

	/* VM 1 goes; VM 9 gets its pages, vCPU ids 1 and 0 in that order. */
	fix_vm_delete(&e.f, (uint32_t)fix_vm_slot(&e.f, 1));
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), -ENOENT);
	slot = fix_vm_add(&e.f, 9, "web2", "lam");
	ck_assert_int_ge(slot, 0);
	fix_caps(caps, lam, 1);
	pfn = fix_vcpu_add(&e.f, (uint32_t)slot, 1, caps);
	ck_assert_int_eq(pfn, e.web0);
	pfn = fix_vcpu_add(&e.f, (uint32_t)slot, 0, caps);
	ck_assert_int_eq(pfn, e.web1);

	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), -ENOENT);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 1, X86_FEATURE_AVX2), -ENOENT);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 9, 0, X86_FEATURE_AVX2), 0);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 9, 0, X86_FEATURE_LAM), 1);
	ck_assert_int_eq(hvcap_control_read_vcpu(cp, 9, 1, &vs), 0);
	ck_assert_uint_eq(vs.control_page_offset, e.f.control_base + (uint64_t)e.web0 * FIX_PAGE);

	/* The same vCPU id in another VM, on the very page the cache remembers. */
	fix_vm_delete(&e.f, (uint32_t)slot);
	slot = fix_vm_add(&e.f, 10, "web3", "x86-64-v3");
	fix_caps(caps, web_features, 4);
	ck_assert_int_eq(fix_vcpu_add(&e.f, (uint32_t)slot, 1, caps), e.web0);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 9, 1, X86_FEATURE_LAM), -ENOENT);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 10, 1, X86_FEATURE_AVX2), 1);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 2, 0, X86_FEATURE_XMM2), 1);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

START_TEST(test_control_snp_host_pages_avoid_2m_offsets)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_vcpu_state vs;
	struct hvcap_host_state hs;
	struct hvcap_vm_state vm;
	uint32_t caps[HVCAP_CTL_CAP_WORDS];
	uint32_t ids[600];
	size_t n;
	int slot;

	/* Two 2 MiB regions of control pages, so that page 512 is one to avoid. */
	env_make(&e, true, 1100, 1100);
	slot = fix_vm_slot(&e.f, 7);
	fix_caps(caps, db_features, 2);
	for (uint32_t i = 0; i < 600; i++)
		ck_assert_int_ge(fix_vcpu_add(&e.f, (uint32_t)slot, i, caps), 0);
	cp = open_ok(e.path);
	ck_assert_int_eq(hvcap_control_read_host(cp, &hs), 0);
	ck_assert(hs.flags & HVCAP_CTL_HOST_SNP);
	ck_assert_int_eq(hvcap_control_read_vm(cp, 7, &vm), 0);
	ck_assert(vm.snp);
	ck_assert_int_eq(hvcap_control_list_vcpus(cp, 7, ids, 600, &n), 0);
	ck_assert_uint_eq(n, 600);
	for (uint32_t i = 0; i < 600; i++) {
		ck_assert_uint_eq(ids[i], i);
		ck_assert_int_eq(hvcap_control_read_vcpu(cp, 7, i, &vs), 0);
		ck_assert_uint_ne(vs.control_page_offset % HVCAP_CTL_CONTROL_ALIGN, 0);
	}
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

/*
 * Corrupt a page (sealed where told), check the vCPU queries (err; the bit
 * asked for, FPU, is set where they succeed) and list_vcpus (err_list) of
 * that VM on a fresh handle, put the page back.
 */
#define BAD_CHAIN(pfn, stmt, vm, vcpu, err, err_list) do { \
		struct hvcap_ctl_vcpu saved_; \
		struct hvcap_control *cp_; \
		struct hvcap_vcpu_state vs_; \
		uint32_t ids_[8]; \
		size_t n_; \
		memcpy(&saved_, fix_page(&e.f, (pfn)), sizeof(saved_)); \
		stmt; \
		cp_ = open_ok(e.path); \
		ck_assert_msg(hvcap_control_read_vcpu(cp_, (vm), (vcpu), &vs_) == (err), \
			      "read_vcpu after %s", #stmt); \
		ck_assert_msg(hvcap_control_guest_cpu_cap_has(cp_, (vm), (vcpu), X86_FEATURE_FPU) == \
			      ((err) ? (err) : 1), "guest_cpu_cap_has after %s", #stmt); \
		ck_assert_msg(hvcap_control_list_vcpus(cp_, (vm), ids_, 8, &n_) == (err_list), \
			      "list_vcpus after %s", #stmt); \
		hvcap_control_close(cp_); \
		memcpy(fix_page(&e.f, (pfn)), &saved_, sizeof(saved_)); \
	} while (0)

START_TEST(test_control_vcpu_rejects_corrupt_pages)
{
	struct env e;
	uint64_t db0, db1, db2;
	struct hvcap_ctl_vcpu *p1;

	env_init(&e);
	db0 = (uint64_t)e.db0;
	db1 = (uint64_t)e.db1;
	db2 = (uint64_t)e.db2;
	p1 = fix_page(&e.f, db1);
	/* Checksum mismatch: a field, erap_ctl (covered from the VMCB area), the check itself. */
	BAD_CHAIN(db1, p1->cr3 = 1, 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, p1->erap_ctl = 1, 2, 1, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, p1->check++, 2, 1, -EBADMSG, -EBADMSG);
	/* Bytes outside the checked ranges are nobody's. */
	BAD_CHAIN(db1, (p1->vmcb_reserved0[0] = 1, p1->reserved[0] = 1), 2, 1, 0, 0);
	/* Sealed, but not what a page may hold. */
	BAD_CHAIN(db1, (p1->flags |= 1u << 9, fix_page_seal(&e.f, db1)), 2, 1, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->apic_mode = 3, fix_page_seal(&e.f, db1)), 2, 1, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->erap_ctl = 4, fix_page_seal(&e.f, db1)), 2, 1, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->vmcb02_erap_ctl = 0x80, fix_page_seal(&e.f, db1)), 2, 1, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->n_cpuid_entries = 257, fix_page_seal(&e.f, db1)), 2, 1, -EBADMSG, -EBADMSG);
	/* The list: out of range, a cycle, another VM's page, a free page, cut short, longer. */
	BAD_CHAIN(db1, (p1->next_page = e.f.n_pages, fix_page_seal(&e.f, db1)), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->next_page = UINT64_MAX - 1, fix_page_seal(&e.f, db1)), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->next_page = db0, fix_page_seal(&e.f, db1)), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->next_page = db1, fix_page_seal(&e.f, db1)), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->next_page = (uint64_t)e.web0, fix_page_seal(&e.f, db1)), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->next_page = 20, fix_page_seal(&e.f, db1)), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->next_page = HVCAP_CTL_NO_PAGE, fix_page_seal(&e.f, db1)), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->vm_id = 1, fix_page_seal(&e.f, db1)), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->flags = 0), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->flags = 0, fix_page_seal(&e.f, db1)), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (memset(p1, 0, sizeof(*p1))), 2, 2, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db1, (p1->seq = 0), 2, 2, -EBADMSG, -EBADMSG);
	/* The last page continues the list with a page that is not a vCPU being added. */
	BAD_CHAIN(db2, (fix_page(&e.f, db2)->next_page = db0, fix_page_seal(&e.f, db2)), 2, 7, -EBADMSG, -EBADMSG);
	BAD_CHAIN(db2, (fix_page(&e.f, db2)->next_page = 20, fix_page_seal(&e.f, db2)), 2, 7, -EBADMSG, -EBADMSG);
	/* Before the damage, a vCPU is still found. */
	BAD_CHAIN(db1, (p1->next_page = db0, fix_page_seal(&e.f, db1)), 2, 1, 0, -EBADMSG);
	/* hvcapd writes the page and never finishes. */
	BAD_CHAIN(db1, fix_page_begin(&e.f, db1), 2, 2, -EAGAIN, -EAGAIN);
	/* The end of the list still checks out: the vCPU does not exist. */
	BAD_CHAIN(db2, (void)0, 2, 3, -ENOENT, 0);
	env_done(&e);
}
END_TEST

START_TEST(test_control_vcpu_being_added_is_not_counted)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_vm_state vm;
	uint32_t ids[8], caps[HVCAP_CTL_CAP_WORDS];
	struct hvcap_ctl_vcpu *p;
	int slot;
	int64_t pfn;
	size_t n;

	env_init(&e);
	slot = fix_vm_slot(&e.f, 2);
	fix_caps(caps, db_features, 2);
	/* As fix_vcpu_add(), stopped after the link, before n_vcpus counts it. */
	pfn = fix_page_alloc(&e.f);
	p = fix_page(&e.f, (uint64_t)pfn);
	fix_page_begin(&e.f, (uint64_t)pfn);
	p->flags = HVCAP_CTL_VCPU_USED;
	p->vm_id = 2;
	p->vcpu_id = 3;
	p->next_page = HVCAP_CTL_NO_PAGE;
	memcpy(p->cpu_caps, caps, sizeof(caps));
	fix_page_end(&e.f, (uint64_t)pfn);
	fix_page_begin(&e.f, (uint64_t)e.db2);
	fix_page(&e.f, (uint64_t)e.db2)->next_page = (uint64_t)pfn;
	fix_page_end(&e.f, (uint64_t)e.db2);

	cp = open_ok(e.path);
	ck_assert_int_eq(hvcap_control_list_vcpus(cp, 2, ids, 8, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(hvcap_control_read_vm(cp, 2, &vm), 0);
	ck_assert_uint_eq(vm.n_vcpus, 3);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 2, 3, X86_FEATURE_FPU), -ENOENT);

	fix_vm_begin(&e.f, (uint32_t)slot);
	e.f.vms[slot].n_vcpus++;
	fix_vm_end(&e.f, (uint32_t)slot);
	fix_publish(&e.f);
	ck_assert_int_eq(hvcap_control_list_vcpus(cp, 2, ids, 8, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(ids[3], 3);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 2, 3, X86_FEATURE_FPU), 1);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

/* ---- VMs ---------------------------------------------------------------- */

START_TEST(test_control_read_vm_and_lists)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_vm_state vm;
	uint32_t ids[8], one[1];
	size_t n = 99;
	int slot;

	env_init(&e);
	/* Slot order is not id order. */
	fix_vm_delete(&e.f, 0);
	ck_assert_int_eq(fix_vm_add(&e.f, 5, "late", "x86-64-v3"), 0);
	cp = open_ok(e.path);

	ck_assert_int_eq(hvcap_control_read_vm(cp, 2, &vm), 0);
	ck_assert_uint_eq(vm.vm_id, 2);
	ck_assert_str_eq(vm.name, "db");
	ck_assert_str_eq(vm.policy_name, "x86-64-v3");
	ck_assert_uint_eq(vm.n_vcpus, 3);
	ck_assert_uint_eq(vm.apic_access_memslot, HVCAP_CTL_MEMSLOT_ENABLED);
	ck_assert_uint_eq(vm.apicv_inhibits, 0);
	ck_assert(!vm.hybrid_avic && !vm.snp);
	ck_assert_int_eq(hvcap_control_read_vm(cp, 1, &vm), -ENOENT);
	ck_assert_int_eq(hvcap_control_read_vm(cp, 2, NULL), -EINVAL);

	ck_assert_int_eq(hvcap_control_list_vms(cp, ids, 8, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(ids[0], 2);
	ck_assert_uint_eq(ids[1], 5);
	ck_assert_uint_eq(ids[2], 7);
	ck_assert_int_eq(hvcap_control_list_vms(cp, one, 1, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(one[0], 2);
	ck_assert_int_eq(hvcap_control_list_vms(cp, NULL, 0, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(hvcap_control_list_vms(cp, NULL, 1, &n), -EINVAL);
	ck_assert_int_eq(hvcap_control_list_vms(cp, ids, 8, NULL), -EINVAL);

	ck_assert_int_eq(hvcap_control_list_vcpus(cp, 2, ids, 8, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(ids[0], 0);
	ck_assert_uint_eq(ids[2], 2);
	ck_assert_int_eq(hvcap_control_list_vcpus(cp, 2, one, 1, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(hvcap_control_list_vcpus(cp, 7, ids, 8, &n), 0);
	ck_assert_uint_eq(n, 0);
	n = 42;
	ck_assert_int_eq(hvcap_control_list_vcpus(cp, 1, ids, 8, &n), -ENOENT);
	ck_assert_uint_eq(n, 42);

	/* hvcapd inhibits the memslot. */
	slot = fix_vm_slot(&e.f, 2);
	fix_vm_begin(&e.f, (uint32_t)slot);
	e.f.vms[slot].apic_access_memslot = HVCAP_CTL_MEMSLOT_INHIBITED;
	e.f.vms[slot].apicv_inhibits = 1u << 13;
	e.f.vms[slot].flags |= HVCAP_CTL_VM_HYBRID_AVIC;
	fix_vm_end(&e.f, (uint32_t)slot);
	fix_publish(&e.f);
	ck_assert_int_eq(hvcap_control_read_vm(cp, 2, &vm), 0);
	ck_assert_uint_eq(vm.apic_access_memslot, HVCAP_CTL_MEMSLOT_INHIBITED);
	ck_assert_uint_eq(vm.apicv_inhibits, 1u << 13);
	ck_assert(vm.hybrid_avic);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

START_TEST(test_control_vm_rejects_corrupt_slots)
{
	struct env e;
	struct hvcap_ctl_vm saved, *v;
	int slot;

	env_init(&e);
	slot = fix_vm_slot(&e.f, 2);
	v = &e.f.vms[slot];
	memcpy(&saved, v, sizeof(saved));
#define BAD_VM(stmt, err_vm, err_vcpu, err_list) do { \
		struct hvcap_control *cp_; \
		struct hvcap_vm_state vm_; \
		uint32_t ids_[8]; \
		size_t n_; \
		stmt; \
		cp_ = open_ok(e.path); \
		ck_assert_msg(hvcap_control_read_vm(cp_, 2, &vm_) == (err_vm), "read_vm after %s", #stmt); \
		ck_assert_msg(hvcap_control_guest_cpu_cap_has(cp_, 2, 0, X86_FEATURE_FPU) == (err_vcpu), \
			      "guest_cpu_cap_has after %s", #stmt); \
		ck_assert_msg(hvcap_control_list_vms(cp_, ids_, 8, &n_) == (err_list), \
			      "list_vms after %s", #stmt); \
		hvcap_control_close(cp_); \
		memcpy(v, &saved, sizeof(saved)); \
	} while (0)
	BAD_VM(v->apicv_inhibits = 5, -EBADMSG, -EBADMSG, -EBADMSG);
	BAD_VM(v->check = 0, -EBADMSG, -EBADMSG, -EBADMSG);
	BAD_VM((memset(v->name, 'n', sizeof(v->name)), fix_vm_seal(&e.f, (uint32_t)slot)),
	       -EBADMSG, -EBADMSG, -EBADMSG);
	BAD_VM((memset(v->name, 'n', HVCAP_CTL_NAME_MAX + 1), fix_vm_seal(&e.f, (uint32_t)slot)),
	       -EBADMSG, -EBADMSG, -EBADMSG);
	BAD_VM((memset(v->policy_name, 'p', sizeof(v->policy_name)), fix_vm_seal(&e.f, (uint32_t)slot)),
	       -EBADMSG, -EBADMSG, -EBADMSG);
	BAD_VM((v->flags |= 1u << 5, fix_vm_seal(&e.f, (uint32_t)slot)), -EBADMSG, -EBADMSG, -EBADMSG);
	BAD_VM((v->apic_access_memslot = 3, fix_vm_seal(&e.f, (uint32_t)slot)), -EBADMSG, -EBADMSG, -EBADMSG);
	/* Counts and pages that do not fit the header or the list: the slot alone is fine. */
	BAD_VM((v->n_vcpus = (uint32_t)e.f.n_pages + 1, fix_vm_seal(&e.f, (uint32_t)slot)), -EBADMSG, -EBADMSG, 0);
	/* vCPU 0 comes before the list turns out too short, or too long. */
	BAD_VM((v->n_vcpus = 4, fix_vm_seal(&e.f, (uint32_t)slot)), 0, 1, 0);
	BAD_VM((v->n_vcpus = 1, fix_vm_seal(&e.f, (uint32_t)slot)), 0, 1, 0);
	BAD_VM((v->first_vcpu_page = e.f.n_pages, fix_vm_seal(&e.f, (uint32_t)slot)), 0, -EBADMSG, 0);
	BAD_VM((v->first_vcpu_page = HVCAP_CTL_NO_PAGE, fix_vm_seal(&e.f, (uint32_t)slot)), 0, -EBADMSG, 0);
	/* A 64-byte name is the longest. */
	BAD_VM((memset(v->name, 'n', HVCAP_CTL_NAME_MAX), v->name[HVCAP_CTL_NAME_MAX] = 0,
		fix_vm_seal(&e.f, (uint32_t)slot)), 0, 1, 0);
	/* An unused slot, as hvcapd leaves it: zero, sealed. */
	BAD_VM((memset(&v->flags, 0, sizeof(*v) - 8), fix_vm_seal(&e.f, (uint32_t)slot)), -ENOENT, -ENOENT, 0);
	/* Unused, but its check does not match: a peek skips it, a copy does not. */
	BAD_VM((v->flags = 0, v->check = 12345), -EBADMSG, -EBADMSG, 0);
	/* Never written (seq 0): unused, and without a check; holding a VM, a contradiction. */
	BAD_VM((memset(v, 0, sizeof(*v)), v->vm_id = 2), -ENOENT, -ENOENT, 0);
	BAD_VM((v->seq = 0), -EBADMSG, -EBADMSG, -EBADMSG);
	/* hvcapd writes the slot, forever. */
	BAD_VM(fix_vm_begin(&e.f, (uint32_t)slot), -EAGAIN, -EAGAIN, -EAGAIN);
#undef BAD_VM
	env_done(&e);
}
END_TEST

START_TEST(test_control_list_vms_rejects_duplicate_ids)
{
	struct env e;
	struct hvcap_control *cp;
	uint32_t ids[8];
	size_t n = 5;
	int slot;

	env_init(&e);
	slot = fix_vm_slot(&e.f, 7);
	e.f.vms[slot].vm_id = 2;
	fix_vm_seal(&e.f, (uint32_t)slot);
	cp = open_ok(e.path);
	ck_assert_int_eq(hvcap_control_list_vms(cp, ids, 8, &n), -EBADMSG);
	ck_assert_uint_eq(n, 5);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

/* ---- lifetime ----------------------------------------------------------- */

START_TEST(test_control_updates_count_changes)
{
	struct env e;
	struct hvcap_control *cp;
	uint64_t u0, u1;

	env_init(&e);
	cp = open_ok(e.path);
	ck_assert_int_eq(hvcap_control_updates(cp, &u0), 0);
	ck_assert_uint_eq(u0, e.f.hdr->updates);
	fix_vm_delete(&e.f, (uint32_t)fix_vm_slot(&e.f, 7));
	ck_assert_int_eq(hvcap_control_updates(cp, &u1), 0);
	ck_assert_uint_eq(u1, u0 + 1);
	ck_assert_int_eq(hvcap_control_updates(cp, NULL), -EINVAL);
	ck_assert_int_eq(hvcap_control_updates(NULL, &u1), -EINVAL);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

START_TEST(test_control_growth_remaps_an_open_handle)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_control_stats st;
	struct hvcap_vcpu_state vs;
	uint32_t caps[HVCAP_CTL_CAP_WORDS];
	uint64_t gen;
	int slot;

	env_init(&e);
	cp = open_ok(e.path);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), 1);
	slot = fix_vm_slot(&e.f, 7);
	fix_caps(caps, db_features, 2);
	/* Fill every page, then grow twice, and add vCPUs on the new pages. */
	for (uint32_t i = 0; fix_vcpu_add(&e.f, (uint32_t)slot, i, caps) >= 0; i++)
		;
	ck_assert_int_eq(fix_grow(&e.f, 600), 0);
	ck_assert_int_eq(fix_grow(&e.f, 1000), 0);
	fix_caps(caps, web_features, 4);
	for (uint32_t i = 100; i < 1000; i++)
		ck_assert_int_ge(fix_vcpu_add(&e.f, (uint32_t)slot, i, caps), 0);
	/* The fast path sees the generation change; the old page is still there. */
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), 1);
	hvcap_control_get_stats(cp, &st);
	ck_assert_uint_eq(st.remaps, 1);
	ck_assert_int_eq(hvcap_control_generation(cp, &gen), 0);
	ck_assert_uint_eq(gen, 3);
	ck_assert_int_eq(hvcap_control_read_vcpu(cp, 7, 999, &vs), 0);
	ck_assert_uint_gt(vs.control_page_offset, e.f.control_base + 600 * FIX_PAGE);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 7, 999, X86_FEATURE_ERAPS), 1);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 7, 0, X86_FEATURE_ERAPS), 0);

	/* A header that claims more than the file holds is not mapped. */
	fix_header_begin(&e.f);
	e.f.hdr->n_control_pages = e.f.max_pages;
	e.f.hdr->file_size = e.f.control_base + e.f.max_pages * FIX_PAGE;
	e.f.hdr->generation++;
	fix_header_end(&e.f);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 7, 999, X86_FEATURE_ERAPS), -EBADMSG);
	ck_assert_int_eq(hvcap_control_read_vcpu(cp, 7, 999, &vs), -EBADMSG);
	/* hvcapd catches up: the file is extended, and the same header is now true. */
	ck_assert_int_eq(ftruncate(e.f.fd, (off_t)(e.f.control_base + e.f.max_pages * FIX_PAGE)), 0);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 7, 999, X86_FEATURE_ERAPS), 1);
	hvcap_control_get_stats(cp, &st);
	ck_assert_uint_eq(st.remaps, 2);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

START_TEST(test_control_stopped_and_starting_are_reported)
{
	struct env e;
	struct hvcap_control *cp;
	struct hvcap_vcpu_state vs;
	struct hvcap_vm_state vm;
	struct hvcap_host_state hs;
	uint32_t ids[4];
	size_t n;
	uint64_t u;

	env_init(&e);
	cp = open_ok(e.path);
	/* Warm every cache first. */
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), 1);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), 1);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, X86_FEATURE_AVX2), 1);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, X86_FEATURE_AVX2), 1);

	fix_set_state(&e.f, HVCAP_CTL_STATE_STOPPED);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), -ESTALE);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, X86_FEATURE_AVX2), -ESTALE);
	ck_assert_int_eq(hvcap_control_host_cpu_has(cp, X86_FEATURE_AVX2), -ESTALE);
	ck_assert_int_eq(hvcap_control_read_vcpu(cp, 1, 0, &vs), -ESTALE);
	ck_assert_int_eq(hvcap_control_read_vm(cp, 1, &vm), -ESTALE);
	ck_assert_int_eq(hvcap_control_read_host(cp, &hs), -ESTALE);
	ck_assert_int_eq(hvcap_control_list_vms(cp, ids, 4, &n), -ESTALE);
	ck_assert_int_eq(hvcap_control_list_vcpus(cp, 1, ids, 4, &n), -ESTALE);
	ck_assert_int_eq(hvcap_control_updates(cp, &u), -ESTALE);
	/* An unknown VM is stale too: nothing in a stopped file is answered. */
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 99, 0, X86_FEATURE_AVX2), -ESTALE);

	fix_set_state(&e.f, HVCAP_CTL_STATE_STARTING);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), -EAGAIN);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, X86_FEATURE_AVX2), -EAGAIN);
	ck_assert_int_eq(hvcap_control_read_vm(cp, 1, &vm), -EAGAIN);
	fix_set_state(&e.f, HVCAP_CTL_STATE_RUNNING);
	ck_assert_int_eq(hvcap_control_guest_cpu_cap_has(cp, 1, 0, X86_FEATURE_AVX2), 1);
	ck_assert_int_eq(hvcap_control_host_cap_has(cp, X86_FEATURE_AVX2), 1);
	hvcap_control_close(cp);
	env_done(&e);
}
END_TEST

START_TEST(test_control_feature_names_round_trip)
{
	ck_assert_int_eq(hvcap_feature_lookup("avx2"), X86_FEATURE_AVX2);
	ck_assert_int_eq(hvcap_feature_lookup("AVX2"), X86_FEATURE_AVX2);
	ck_assert_int_eq(hvcap_feature_lookup("sse4.1"), hvcap_feature_lookup("sse4_1"));
	ck_assert_int_ge(hvcap_feature_lookup("sse4-1"), 0);
	ck_assert_int_eq(hvcap_feature_lookup("eraps"), X86_FEATURE_ERAPS);
	ck_assert_int_eq(hvcap_feature_lookup("no-such-feature"), -ENOENT);
	ck_assert_int_eq(hvcap_feature_lookup(""), -ENOENT);
	ck_assert_int_eq(hvcap_feature_lookup(
		"a-name-far-longer-than-any-feature-has-ever-had-in-any-catalog-at-all-really"), -ENOENT);
	ck_assert_int_eq(hvcap_feature_lookup(NULL), -EINVAL);
	ck_assert_str_eq(hvcap_feature_name(X86_FEATURE_AVX2), "avx2");
	ck_assert_ptr_null(hvcap_feature_name(-1));
	ck_assert_ptr_null(hvcap_feature_name(HVCAP_CTL_CAP_WORDS * 32));
	for (size_t i = 0; i < caps_feature_count(); i++) {
		const struct caps_feature_info *fi = caps_feature_at(i);

		ck_assert_int_lt(fi->id, HVCAP_CTL_CAP_WORDS * 32);
		ck_assert_int_eq(hvcap_feature_lookup(fi->name), fi->id);
	}
}
END_TEST

/* ---- fuzz --------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, seeded, good enough to pick bytes. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static uint64_t rng_below(uint64_t n)
{
	return n ? rng() % n : 0;
}

static unsigned long env_ulong(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : dflt;
}

struct fuzz_image {
	size_t dense;			/* header, host and VM table: [0, dense) */
	size_t pages;			/* control pages: [control_base, control_base + pages) */
	size_t size;			/* file size */
	unsigned char *head;
	unsigned char *tail;
};

/*
 * Make every seq even again, as a finished write leaves it: an odd one
 * costs each query that reads the record a reader's whole wait, and
 * fuzz_odd_seq() covers those.
 */
static void fuzz_even_seqs(struct env *e, const struct fuzz_image *im)
{
	e->f.hdr->seq &= ~1u;
	e->f.host->seq &= ~1u;
	for (uint32_t i = 0; i < e->f.capacity; i++)
		e->f.vms[i].seq &= ~1u;
	for (uint64_t p = 0; p < im->pages / FIX_PAGE; p++)
		fix_page(&e->f, p)->seq &= ~1u;
}

/* A record hvcapd started to write and never finishes: each costs a reader's wait. */
static void fuzz_odd_seq(struct env *e, const struct fuzz_image *im)
{
	uint32_t *seq;

	switch (rng_below(4)) {
	case 0:
		seq = &e->f.hdr->seq;
		break;
	case 1:
		seq = &e->f.host->seq;
		break;
	case 2:
		seq = &e->f.vms[rng_below(e->f.capacity)].seq;
		break;
	default:
		seq = &fix_page(&e->f, rng_below(im->pages / FIX_PAGE))->seq;
		break;
	}
	*seq |= 1;
}

/* Some byte the fuzzer may change: the dense part or the control pages. */
static unsigned char *fuzz_byte(struct env *e, const struct fuzz_image *im, size_t *ret_off)
{
	size_t off;

	if (rng() & 1) {
		/* The header's variable part and the records' first bytes are where it matters. */
		off = rng() & 3 ? rng_below(im->dense) : 128 + rng_below(128);
	} else {
		off = e->f.control_base + rng_below(im->pages);
		if (rng() & 1)
			off = (off & ~(size_t)(FIX_PAGE - 1)) + 0x400 + rng_below(0x140);
	}
	if (ret_off)
		*ret_off = off;
	return e->f.map + off;
}

static void fuzz_restore(struct env *e, const struct fuzz_image *im)
{
	ck_assert_int_eq(ftruncate(e->f.fd, (off_t)im->size), 0);
	memcpy(e->f.map, im->head, im->dense);
	memcpy(e->f.map + e->f.control_base, im->tail, im->pages);
}

static void fuzz_reseal(struct env *e, const struct fuzz_image *im)
{
	fix_header_seal(&e->f);
	fix_host_seal(&e->f);
	for (uint32_t i = 0; i < e->f.capacity; i++)
		fix_vm_seal(&e->f, i);
	for (uint64_t p = 0; p < im->pages / FIX_PAGE; p++)
		fix_page_seal(&e->f, p);
}

/* Change some bytes of the file (never its size). */
static void fuzz_mutate(struct env *e, const struct fuzz_image *im)
{
	uint64_t kind = rng_below(5);

	switch (kind) {
	case 0:		/* bit flips */
		for (uint64_t n = 1 + rng_below(8); n; n--)
			*fuzz_byte(e, im, NULL) ^= (unsigned char)(1u << rng_below(8));
		break;
	case 1: {	/* arbitrary bytes */
		size_t off, len = 1 + rng_below(64);
		unsigned char *p = fuzz_byte(e, im, &off);
		size_t end = off < im->dense ? im->dense : e->f.control_base + im->pages;

		for (size_t i = 0; i < len && off + i < end; i++)
			p[i] = (unsigned char)rng();
		break;
	}
	case 2: {	/* an aligned word set to a value that matters */
		static const uint64_t values[] = {
			0, 1, 2, 3, 31, 32, 63, 64, 65, 0x7fffffff, 0x80000000, 0xffffffff,
			UINT64_MAX, UINT64_MAX - 1, 4096, 0x200000, 1u << 20, UINT64_C(1) << 40,
		};
		size_t off;
		uint64_t v = values[rng_below(sizeof(values) / sizeof(values[0]))];

		fuzz_byte(e, im, &off);
		off &= ~(size_t)7;
		if (rng() & 1)
			memcpy(e->f.map + off, &v, 8);
		else
			memcpy(e->f.map + off + 4 * (rng() & 1), &v, 4);
		break;
	}
	case 3:		/* a field of every record sealed with a random value */
	case 4: {	/* arbitrary bytes over a whole record, sealed */
		size_t off;
		unsigned char *p = fuzz_byte(e, im, &off);

		if (kind == 3) {
			*p = (unsigned char)rng();
		} else {
			size_t start = off & ~(size_t)255;

			for (size_t i = 8; i < 256 && start + i < e->f.control_base + im->pages; i++)
				e->f.map[start + i] = (unsigned char)rng();
		}
		fuzz_reseal(e, im);
		return;
	}
	}
	/* Half the time, make the checks right, so that validation beyond them is reached. */
	if (rng() & 1)
		fuzz_reseal(e, im);
}

static bool is_query_errno(int r)
{
	return r == -EBADMSG || r == -EAGAIN || r == -ESTALE || r == -ENOENT || r == -EINVAL;
}

static void fuzz_queries(struct hvcap_control *cp, unsigned long *answered)
{
	static const uint32_t try_vms[] = { 0, 1, 2, 7, 9, UINT32_MAX };
	uint32_t vms[16], vcpus[16];
	struct hvcap_host_state hs;
	struct hvcap_vm_state vm;
	struct hvcap_vcpu_state vs;
	size_t n_vms = 0, n;
	uint64_t u;
	int r;

#define Q(expr) do { \
		r = (expr); \
		ck_assert_msg(r == 0 || r == 1 || is_query_errno(r), "%s = %d", #expr, r); \
		*answered += r >= 0; \
	} while (0)
	Q(hvcap_control_host_cap_has(cp, (int)rng_below(64 * 32 + 2) - 1));
	Q(hvcap_control_host_cpu_has(cp, X86_FEATURE_AVX2));
	Q(hvcap_control_read_host(cp, &hs));
	if (r == 0) {
		ck_assert_uint_lt(strlen(hs.fingerprint), sizeof(hs.fingerprint));
		ck_assert_uint_le(hs.n_params, HVCAP_CTL_MAX_PARAMS);
		for (uint32_t i = 0; i < hs.n_params; i++)
			ck_assert_uint_lt(strlen(hs.params[i].value), sizeof(hs.params[i].value));
	}
	Q(hvcap_control_updates(cp, &u));
	Q(hvcap_control_generation(cp, &u));
	Q(hvcap_control_list_vms(cp, vms, 16, &n_vms));
	if (r < 0)
		n_vms = 0;
	if (n_vms > 16)
		n_vms = 16;
	for (size_t i = 0; i < n_vms + sizeof(try_vms) / sizeof(try_vms[0]); i++) {
		uint32_t id = i < n_vms ? vms[i] : try_vms[i - n_vms];

		Q(hvcap_control_read_vm(cp, id, &vm));
		if (r == 0)
			ck_assert_uint_le(strlen(vm.name), HVCAP_CTL_NAME_MAX);
		Q(hvcap_control_list_vcpus(cp, id, vcpus, 16, &n));
		if (r < 0)
			n = 0;
		if (n > 16)
			n = 16;
		for (size_t j = 0; j < n + 2; j++) {
			uint32_t vcpu = j < n ? vcpus[j] : (uint32_t)(j - n) * 7;

			Q(hvcap_control_read_vcpu(cp, id, vcpu, &vs));
			if (r == 0)
				ck_assert_uint_le(vs.n_cpuid_entries, 256);
			Q(hvcap_control_guest_cpu_cap_has(cp, id, vcpu, X86_FEATURE_AVX2));
			Q(hvcap_control_guest_cpu_cap_has(cp, id, vcpu, X86_FEATURE_AVX2));
		}
	}
#undef Q
}

START_TEST(test_control_fuzz_never_crashes)
{
	unsigned long iterations = env_ulong("HVCAP_FUZZ_ITERATIONS", 3000);
	unsigned long opened = 0, refused = 0, answered = 0;
	struct fuzz_image im;
	struct env e;
	struct timespec t0, t1;

	rng_state = env_ulong("HVCAP_FUZZ_SEED", 0x5eed1234abcdULL);
	if (!rng_state)
		rng_state = 1;		/* xorshift's one bad seed */
	env_make(&e, false, 24, 64);
	im.dense = e.f.hdr->vm_table_offset + e.f.capacity * sizeof(struct hvcap_ctl_vm);
	im.pages = e.f.n_pages * FIX_PAGE;
	im.size = e.f.control_base + im.pages;
	im.head = malloc(im.dense);
	im.tail = malloc(im.pages);
	ck_assert(im.head && im.tail);
	memcpy(im.head, e.f.map, im.dense);
	memcpy(im.tail, e.f.map + e.f.control_base, im.pages);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long it = 0; it < iterations; it++) {
		struct hvcap_control *cp = NULL;
		int r;

		fuzz_restore(&e, &im);
		if (it % 16 == 15) {
			/* Arbitrary bytes everywhere, in a file of arbitrary size. */
			size_t size = (size_t)rng_below(im.size + 1);

			ck_assert_int_eq(ftruncate(e.f.fd, (off_t)size), 0);
			for (size_t off = 0; off < (size < im.dense ? size : im.dense); off++)
				e.f.map[off] = (unsigned char)rng();
			if (size >= 128 && (rng() & 1))	/* with a header that gets past the first checks */
				memcpy(e.f.map, im.head, 128);
		} else {
			for (uint64_t n = 1 + rng_below(3); n; n--)
				fuzz_mutate(&e, &im);
			if (rng_below(16))
				fuzz_even_seqs(&e, &im);
			if (it % 64 == 7)
				fuzz_odd_seq(&e, &im);
			/* Last: once the file is shorter, nothing may touch what it lost. */
			if (rng_below(8) == 0)
				ck_assert_int_eq(ftruncate(e.f.fd, (off_t)rng_below(im.size)), 0);
		}
		r = hvcap_control_open(e.path, &cp);
		if (r < 0) {
			ck_assert_msg(r == -EBADMSG || r == -EPROTONOSUPPORT || r == -EAGAIN || r == -ESTALE,
				      "open = %d at iteration %lu", r, it);
			refused++;
			continue;
		}
		opened++;
		fuzz_queries(cp, &answered);
		/* The file changes under the open handle (hvcapd, or a hostile writer). */
		for (int k = 0; k < 3; k++) {
			struct stat st;

			ck_assert_int_eq(fstat(e.f.fd, &st), 0);
			if ((size_t)st.st_size < im.size)
				break;		/* a mapping's file never shrinks: hvcapd never truncates */
			fuzz_mutate(&e, &im);
			if (rng_below(16))
				fuzz_even_seqs(&e, &im);
			fuzz_queries(cp, &answered);
		}
		hvcap_control_close(cp);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("control fuzz: %lu iterations (seed %#llx), %lu opened, %lu refused, %lu answers, %.1f s\n",
	       iterations, (unsigned long long)env_ulong("HVCAP_FUZZ_SEED", 0x5eed1234abcdULL), opened,
	       refused, answered, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	ck_assert_uint_gt(opened, iterations / 10);
	ck_assert_uint_gt(refused, iterations / 10);
	free(im.head);
	free(im.tail);
	env_done(&e);
}
END_TEST

/* ---- torture: a writer racing readers ------------------------------------ */

#define TORTURE_VMS		8
#define TORTURE_READERS		2
#define TORTURE_MAX_VCPUS	48

struct torture {
	struct env e;
	atomic_bool stop;
	_Atomic uint32_t vm_ids[TORTURE_VMS];	/* the ids readers ask for */
	uint64_t target;			/* accepted reads per reader */
	/* Results. */
	atomic_ulong writes, grows, churns;
	atomic_ulong accepted, bad, eagain, enoent, other;
	atomic_ulong retries, remaps, cache_hits;
};

/* What cap word w holds when word 0 holds x: an invariant across the whole record. */
static uint32_t torture_word(uint32_t x, uint32_t w)
{
	return x * (2 * w + 1) + w;
}

static void torture_fill_page(struct hvcap_ctl_vcpu *v, uint32_t x, uint32_t n_words)
{
	for (uint32_t w = 0; w < n_words; w++)
		v->cpu_caps[w] = torture_word(x, w);
	v->cr3 = (uint64_t)x << 12;
	v->erap_ctl = x & 3;
	v->vmcb02_erap_ctl = (x >> 2) & 3;
	v->maxphyaddr = (uint8_t)(32 + x % 20);
	v->n_cpuid_entries = x % 257;
	v->apic_mode = x % 3;
}

static bool torture_page_ok(const struct hvcap_vcpu_state *vs)
{
	uint32_t x = vs->cpu_caps[0];

	for (uint32_t w = 0; w < vs->n_cap_words; w++)
		if (vs->cpu_caps[w] != torture_word(x, w))
			return false;
	return vs->cr3 == (uint64_t)x << 12 && vs->erap_ctl == (x & 3) && vs->vmcb02_erap_ctl == ((x >> 2) & 3) &&
	       vs->maxphyaddr == 32 + x % 20 && vs->n_cpuid_entries == x % 257 && vs->apic_mode == x % 3;
}

static void torture_fill_vm(struct hvcap_ctl_vm *v, uint32_t y)
{
	v->apicv_inhibits = y;
	memset(v->name, 0, sizeof(v->name));
	memset(v->policy_name, 0, sizeof(v->policy_name));
	snprintf(v->name, sizeof(v->name), "vm%u-%08x", v->vm_id, y);
	snprintf(v->policy_name, sizeof(v->policy_name), "policy-%08x-%0*d", ~y, (int)(y % 40), 0);
}

static bool torture_vm_ok(const struct hvcap_vm_state *vm)
{
	char name[HVCAP_CTL_NAME_MAX + 8], policy[HVCAP_CTL_NAME_MAX + 8];
	uint32_t y = vm->apicv_inhibits;

	snprintf(name, sizeof(name), "vm%u-%08x", vm->vm_id, y);
	snprintf(policy, sizeof(policy), "policy-%08x-%0*d", ~y, (int)(y % 40), 0);
	return strcmp(name, vm->name) == 0 && strcmp(policy, vm->policy_name) == 0;
}

static void torture_fill_host(struct hvcap_ctl_host *h, uint32_t z)
{
	for (uint32_t w = 0; w < FIX_CAP_WORDS; w++) {
		h->kvm_caps[w] = torture_word(z, w);
		h->host_caps[w] = ~torture_word(z, w);
	}
	memset(h->fingerprint, 0, sizeof(h->fingerprint));
	snprintf(h->fingerprint, sizeof(h->fingerprint), "fp-%08x-%0*d", z, (int)(z % 50), 0);
	h->microcode = z;
}

static bool torture_host_ok(const struct hvcap_host_state *h)
{
	char fp[HVCAP_CTL_FINGERPRINT_MAX + 8];
	uint32_t z = h->kvm_caps[0];

	for (uint32_t w = 0; w < h->n_cap_words; w++)
		if (h->kvm_caps[w] != torture_word(z, w) || h->host_caps[w] != ~torture_word(z, w))
			return false;
	snprintf(fp, sizeof(fp), "fp-%08x-%0*d", z, (int)(z % 50), 0);
	return h->microcode == z && strcmp(fp, h->fingerprint) == 0;
}

static int torture_add_vcpu(struct torture *t, uint32_t slot, uint32_t vcpu_id)
{
	uint32_t caps[HVCAP_CTL_CAP_WORDS];
	int64_t pfn;

	for (uint32_t w = 0; w < HVCAP_CTL_CAP_WORDS; w++)
		caps[w] = torture_word(0, w);
	pfn = fix_vcpu_add(&t->e.f, slot, vcpu_id, caps);
	if (pfn == -ENOSPC) {
		/* Grow, then the vCPU lands on a page beyond every reader's mapping. */
		if (fix_grow(&t->e.f, t->e.f.n_pages + 16) < 0)
			return -ENOSPC;
		atomic_fetch_add(&t->grows, 1);
		pfn = fix_vcpu_add(&t->e.f, slot, vcpu_id, caps);
	}
	if (pfn < 0)
		return (int)pfn;
	/* Its first real contents, with the invariant. */
	fix_page_begin(&t->e.f, (uint64_t)pfn);
	torture_fill_page(fix_page(&t->e.f, (uint64_t)pfn), (uint32_t)rng(), t->e.f.n_cap_words);
	fix_page_end(&t->e.f, (uint64_t)pfn);
	return 0;
}

static void *torture_writer(void *arg)
{
	struct torture *t = arg;
	struct ctl_fixture *f = &t->e.f;
	uint32_t next_vm_id = 100;

	for (unsigned long it = 0; !atomic_load_explicit(&t->stop, memory_order_relaxed); it++) {
		uint32_t i = (uint32_t)rng_below(TORTURE_VMS);
		int slot = fix_vm_slot(f, atomic_load(&t->vm_ids[i]));

		if (slot < 0)
			continue;
		if (it % 4096 == 4095) {
			/* Churn: the VM goes, a new one takes its slot and (some of) its pages. */
			uint32_t id = next_vm_id++;

			fix_vm_delete(f, (uint32_t)slot);
			slot = fix_vm_add(f, id, "churn", "churn");
			ck_assert_int_ge(slot, 0);
			fix_vm_begin(f, (uint32_t)slot);
			torture_fill_vm(&f->vms[slot], (uint32_t)rng());
			fix_vm_end(f, (uint32_t)slot);
			for (uint32_t v = 0; v < 4; v++)
				ck_assert_int_eq(torture_add_vcpu(t, (uint32_t)slot, v), 0);
			atomic_store(&t->vm_ids[i], id);
			atomic_fetch_add(&t->churns, 1);
		} else if (it % 512 == 511) {
			/* Hot-plug, growing the file when it is full. */
			if (f->vms[slot].n_vcpus < TORTURE_MAX_VCPUS)
				ck_assert_int_eq(torture_add_vcpu(t, (uint32_t)slot, f->vms[slot].n_vcpus), 0);
		} else if (it % 1024 == 1023) {
			fix_host_begin(f);
			torture_fill_host(f->host, (uint32_t)rng());
			fix_host_end(f);
		} else if (it % 4 == 3) {
			fix_vm_begin(f, (uint32_t)slot);
			torture_fill_vm(&f->vms[slot], (uint32_t)rng());
			fix_vm_end(f, (uint32_t)slot);
		} else {
			int64_t pfn = fix_vcpu_page(f, (uint32_t)slot, (uint32_t)rng_below(f->vms[slot].n_vcpus));

			if (pfn < 0)
				continue;
			fix_page_begin(f, (uint64_t)pfn);
			torture_fill_page(fix_page(f, (uint64_t)pfn), (uint32_t)rng(), f->n_cap_words);
			fix_page_end(f, (uint64_t)pfn);
		}
		fix_publish(f);
		atomic_fetch_add_explicit(&t->writes, 1, memory_order_relaxed);
	}
	return NULL;
}

/* How often this handle has remapped the file, so far. */
static uint64_t ctl_remaps(struct hvcap_control *cp)
{
	struct hvcap_control_stats st;

	hvcap_control_get_stats(cp, &st);
	return st.remaps;
}

static void *torture_reader(void *arg)
{
	struct torture *t = arg;
	struct hvcap_control *cp = open_ok(t->e.path);
	struct hvcap_control_stats st;
	uint64_t seed = (uint64_t)(uintptr_t)&cp * 0x9e3779b97f4a7c15ULL | 1;
	unsigned long accepted = 0, bad = 0, eagain = 0, enoent = 0, other = 0;

	/*
	 * The target, and then on until this handle has followed the file's
	 * growth at least once: a writer the scheduler kept waiting may not
	 * have grown it yet (it grows it at its 17,000th change or so).
	 */
	for (unsigned long it = 1; accepted < t->target || it % 1024 || ctl_remaps(cp) == 0; it++) {
		struct hvcap_vcpu_state vs;
		struct hvcap_vm_state vm;
		struct hvcap_host_state hs;
		uint32_t ids[TORTURE_MAX_VCPUS + 1];
		uint32_t vm_id, vcpu;
		uint64_t choice;
		size_t n;
		int r;

		seed ^= seed >> 12;
		seed ^= seed << 25;
		seed ^= seed >> 27;
		choice = seed * UINT64_C(2685821657736338717);
		vm_id = atomic_load_explicit(&t->vm_ids[(choice >> 8) % TORTURE_VMS], memory_order_relaxed);
		vcpu = (uint32_t)((choice >> 16) % 8);
		switch (choice % 64) {
		case 0 ... 23:
			r = hvcap_control_read_vcpu(cp, vm_id, vcpu, &vs);
			if (r == 0 && (!torture_page_ok(&vs) || vs.vm_id != vm_id || vs.vcpu_id != vcpu))
				bad++;
			break;
		case 24 ... 43:
			r = hvcap_control_guest_cpu_cap_has(cp, vm_id, vcpu, (int)((choice >> 24) % (FIX_CAP_WORDS * 32)));
			if (r == 1)
				r = 0;
			break;
		case 44 ... 51:
			r = hvcap_control_read_vm(cp, vm_id, &vm);
			if (r == 0 && (!torture_vm_ok(&vm) || vm.vm_id != vm_id))
				bad++;
			break;
		case 52 ... 53:
			/* 43 KiB to copy and check: rarely. */
			r = hvcap_control_read_host(cp, &hs);
			if (r == 0 && !torture_host_ok(&hs))
				bad++;
			break;
		default:
			r = hvcap_control_list_vcpus(cp, vm_id, ids, TORTURE_MAX_VCPUS + 1, &n);
			if (r == 0) {
				if (n > TORTURE_MAX_VCPUS)
					bad++;
				for (size_t k = 0; k < n && k <= TORTURE_MAX_VCPUS; k++)
					if (ids[k] != k)
						bad++;
			}
			break;
		}
		if (r == 0)
			accepted++;
		else if (r == -EAGAIN)
			eagain++;
		else if (r == -ENOENT)
			enoent++;
		else if (other++ < 5)
			fprintf(stderr, "torture reader: unexpected %d\n", r);
	}
	hvcap_control_get_stats(cp, &st);
	hvcap_control_close(cp);
	atomic_fetch_add(&t->accepted, accepted);
	atomic_fetch_add(&t->bad, bad);
	atomic_fetch_add(&t->eagain, eagain);
	atomic_fetch_add(&t->enoent, enoent);
	atomic_fetch_add(&t->other, other);
	atomic_fetch_add(&t->retries, st.retries);
	atomic_fetch_add(&t->remaps, st.remaps);
	atomic_fetch_add(&t->cache_hits, st.cache_hits);
	return NULL;
}

START_TEST(test_control_torture_readers_never_accept_torn_records)
{
	static struct torture t;
	pthread_t writer, readers[TORTURE_READERS];
	struct timespec t0, t1;

	memset(&t, 0, sizeof(t));
	rng_state = 0x70a7u;
	t.target = env_ulong("HVCAP_TORTURE_READS", 1000000) / TORTURE_READERS + 1;
	snprintf(t.e.dir, sizeof(t.e.dir), "%s/hvcap-ctl-XXXXXX",
		 getenv("TMPDIR") && getenv("TMPDIR")[0] == '/' ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(t.e.dir));
	snprintf(t.e.path, sizeof(t.e.path), "%s/control", t.e.dir);
	ck_assert_int_eq(fix_create(&t.e.f, t.e.path, TORTURE_VMS, 64, 8192, true), 0);
	/* Eight VMs of four vCPUs with the invariants in place. */
	for (uint32_t i = 0; i < TORTURE_VMS; i++) {
		int slot = fix_vm_add(&t.e.f, 10 + i, "t", "t");

		ck_assert_int_ge(slot, 0);
		fix_vm_begin(&t.e.f, (uint32_t)slot);
		torture_fill_vm(&t.e.f.vms[slot], i);
		fix_vm_end(&t.e.f, (uint32_t)slot);
		for (uint32_t v = 0; v < 4; v++)
			ck_assert_int_eq(torture_add_vcpu(&t, (uint32_t)slot, v), 0);
		atomic_store(&t.vm_ids[i], 10 + i);
	}
	fix_host_begin(&t.e.f);
	torture_fill_host(t.e.f.host, 1);
	fix_host_end(&t.e.f);
	fix_publish(&t.e.f);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(pthread_create(&writer, NULL, torture_writer, &t), 0);
	for (int i = 0; i < TORTURE_READERS; i++)
		ck_assert_int_eq(pthread_create(&readers[i], NULL, torture_reader, &t), 0);
	for (int i = 0; i < TORTURE_READERS; i++)
		pthread_join(readers[i], NULL);
	atomic_store(&t.stop, true);
	pthread_join(writer, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	printf("control torture: %lu accepted reads, %lu bad, %lu -EAGAIN, %lu -ENOENT, %lu other; "
	       "reader retries %lu, remaps %lu, cache hits %lu; writer: %lu changes, %lu grows "
	       "(%" PRIu64 " pages), %lu VM churns; %.1f s\n",
	       atomic_load(&t.accepted), atomic_load(&t.bad), atomic_load(&t.eagain), atomic_load(&t.enoent),
	       atomic_load(&t.other), atomic_load(&t.retries), atomic_load(&t.remaps),
	       atomic_load(&t.cache_hits), atomic_load(&t.writes), atomic_load(&t.grows), t.e.f.n_pages,
	       atomic_load(&t.churns), (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	ck_assert_uint_eq(atomic_load(&t.bad), 0);
	ck_assert_uint_eq(atomic_load(&t.other), 0);
	ck_assert_uint_ge(atomic_load(&t.accepted), env_ulong("HVCAP_TORTURE_READS", 1000000));
	ck_assert_uint_gt(atomic_load(&t.remaps), 0);
	env_done(&t.e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control-reader");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_test(tc, test_control_open_valid_file_maps_it);
	tcase_add_test(tc, test_control_open_rejects_null_and_missing);
	tcase_add_test(tc, test_control_path_resolve_follows_env_then_defaults);
	tcase_add_test(tc, test_control_open_null_path_uses_env);
	tcase_add_test(tc, test_control_open_rejects_wrong_magic);
	tcase_add_test(tc, test_control_open_rejects_other_abi_major);
	tcase_add_test(tc, test_control_open_rejects_other_word_numbering);
	tcase_add_test(tc, test_control_open_rejects_short_files);
	tcase_add_test(tc, test_control_open_rejects_bad_layout);
	tcase_add_test(tc, test_control_open_waits_for_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("host");
	tcase_add_test(tc, test_control_host_caps_answer_from_the_record);
	tcase_add_test(tc, test_control_host_rejects_corrupt_records);
	tcase_add_test(tc, test_control_feature_names_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("vcpu");
	tcase_add_test(tc, test_control_guest_cpu_cap_has_answers_per_vcpu);
	tcase_add_test(tc, test_control_read_vcpu_copies_the_page);
	tcase_add_test(tc, test_control_guest_cap_change_is_seen_through_the_cache);
	tcase_add_test(tc, test_control_cache_follows_a_reused_page);
	tcase_add_test(tc, test_control_snp_host_pages_avoid_2m_offsets);
	tcase_add_test(tc, test_control_vcpu_rejects_corrupt_pages);
	tcase_add_test(tc, test_control_vcpu_being_added_is_not_counted);
	suite_add_tcase(s, tc);

	tc = tcase_create("vm");
	tcase_add_test(tc, test_control_read_vm_and_lists);
	tcase_add_test(tc, test_control_vm_rejects_corrupt_slots);
	tcase_add_test(tc, test_control_list_vms_rejects_duplicate_ids);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifetime");
	tcase_add_test(tc, test_control_updates_count_changes);
	tcase_add_test(tc, test_control_growth_remaps_an_open_handle);
	tcase_add_test(tc, test_control_stopped_and_starting_are_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_control_fuzz_never_crashes);
	suite_add_tcase(s, tc);

	tc = tcase_create("torture");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_control_torture_readers_never_accept_torn_records);
	suite_add_tcase(s, tc);

	return test_run_suite(s);
}
