/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HVCAP_HVCAP_H
#define HVCAP_HVCAP_H

/*
 * libhvcap: what a VMM or an agent links to ask hvcapd (pkg-config hvcap).
 *
 *   - the control-plane reader (this header): capability queries on the
 *     shared-memory file hvcapd publishes (hvcap/control.h, hvcap-control(7)),
 *     without a system call and without locks;
 *   - feature names (this header, and libcaps/caps.h for the whole catalog,
 *     libcaps/cpuid.h and libcaps/dump.h for CPUID data and dumps);
 *   - the Varlink client (proto/client.h) for everything else.
 *
 * hvcap(3), also found as libhvcap(3), documents every function here.
 * Every function returns a negative errno on failure and never aborts on
 * what it reads from the file: a corrupt, truncated or hostile file is
 * -EBADMSG (the one thing a reader of any mapping cannot survive is the
 * file shrinking under it, which hvcapd never does: SIGBUS).  Nothing
 * logs, nothing allocates but hvcap_control_open() and
 * hvcap_control_list_vms().
 *
 * Threads: a handle may be used by one thread at a time; open one per
 * thread (they are cheap and share nothing but the mapping's pages).
 * Handles never write the file and take no lock, so any number of them,
 * in any processes, read while hvcapd writes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvcap/control.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variable that names the control file. */
#define HVCAP_CONTROL_ENV	"HVCAP_CONTROL"
/* The system instance's control file. */
#define HVCAP_CONTROL_SYSTEM	"/run/hvcap/control"

struct hvcap_control;

/*
 * The control file hvcap_control_open() maps for path: path itself unless
 * it is NULL or "", else $HVCAP_CONTROL unless it is unset or empty, else
 * /run/hvcap/control for root (and for users without an absolute
 * $XDG_RUNTIME_DIR: cron, su) and $XDG_RUNTIME_DIR/hvcap/control for
 * others, beside hvcapd's default socket (proto_address_resolve()).
 * 0, -ENAMETOOLONG past PATH_MAX, -ENOBUFS when it does not fit size
 * bytes (buf is written only on success), -EINVAL for a NULL buf.
 */
int hvcap_control_path_resolve(const char *path, char *buf, size_t size);

/*
 * Map a control file read-only (path as hvcap_control_path_resolve()).
 * Checks the header's fixed part once (magic, ABI major, page and record
 * sizes, offsets page aligned and inside the file, control_base 2 MiB
 * aligned, n_cap_words 1..HVCAP_CTL_CAP_WORDS) and reads the variable
 * part.  Waits for nothing: a file hvcapd is still building is -EAGAIN.
 *
 * -ENOENT, -EACCES (from open), -EBADMSG (not a regular file, not a
 * control file, or a corrupt or truncated one), -EPROTONOSUPPORT (another
 * ABI major, or feature words numbered otherwise than this library's
 * catalog: cap_words_hash), -EAGAIN (STARTING, or hvcapd is writing the header longer
 * than a reader waits), -ESTALE (hvcapd stopped: a file that will not
 * change any more), -ENOMEM, -EINVAL for a NULL ret.  *ret is written only
 * on success.
 */
int hvcap_control_open(const char *path, struct hvcap_control **ret);
/* Unmap and free; NULL is accepted. */
void hvcap_control_close(struct hvcap_control *cp);

/*
 * A feature by name: its id, word * 32 + bit in hvcap's word numbering
 * (enum caps_word in libcaps/caps.h: CPUID registers, then feature-MSR
 * halves; not the kernel's cpufeatures.h word numbers), which is how the
 * control file's cap words are indexed.  Accepts Linux and QEMU spellings
 * and aliases, case and '-'/'_'/'.' folded.  -ENOENT for an unknown name
 * ("" too), -EINVAL for NULL.  Thread safe.
 */
int hvcap_feature_lookup(const char *name);
/* The Linux name of a feature id, or NULL for an id no feature has.  Thread safe. */
const char *hvcap_feature_name(int feature);

/*
 * Queries.  Each reads one stable copy of the record it needs (retrying
 * while hvcapd writes it) and validates it.  1 or 0; -ENOENT for a VM or
 * vCPU that does not exist; -EINVAL for a feature id outside the file's
 * cap words (0 .. n_cap_words * 32 - 1: a word hvcapd does not publish is
 * unknown, not clear) or a NULL handle; -ESTALE when hvcapd has stopped
 * (the file will not change any more: open it again once hvcapd runs);
 * -EAGAIN when hvcapd kept writing what the query needs for longer than
 * a reader waits (about a millisecond: call again); -EBADMSG for a
 * corrupt file; -ENOMEM when the file grew and could not be mapped again.
 */
/* Whether KVM on the host supports the feature (KVM_GET_SUPPORTED_CPUID). */
int hvcap_control_host_cap_has(struct hvcap_control *cp, int feature);
/* Whether the host CPU has it (raw CPUID). */
int hvcap_control_host_cpu_has(struct hvcap_control *cp, int feature);
/*
 * KVM's guest_cpu_cap_has() for a vCPU of a registered VM.  The handle
 * remembers where the vCPU's control page is: while hvcapd leaves that
 * page alone, a call loads the header's generation and state and one cap
 * word between two loads of the page's seq, and tests a bit: no copy and
 * no checksum (the seq shows the page is still the copy that was
 * validated).  Otherwise it reads the page again, or looks the vCPU up.
 */
int hvcap_control_guest_cpu_cap_has(struct hvcap_control *cp, uint32_t vm_id, uint32_t vcpu_id,
				    int feature);

/* A stable, validated copy of a vCPU's control page. */
struct hvcap_vcpu_state {
	uint32_t vm_id;
	uint32_t vcpu_id;
	bool cpuid_frozen;		/* it has run */
	bool guest_mode;		/* it runs L2 */
	bool rap_dirty;
	bool apicv_active;
	uint32_t apic_mode;		/* enum hvcap_ctl_apic_mode */
	uint64_t apic_base;
	uint64_t cr3;
	uint8_t erap_ctl;		/* vmcb01's: HVCAP_CTL_ERAP_* */
	uint8_t vmcb02_erap_ctl;
	uint8_t maxphyaddr;
	uint32_t n_cpuid_entries;
	uint64_t control_page_offset;	/* file offset of its control page */
	uint32_t n_cap_words;
	uint32_t cpu_caps[HVCAP_CTL_CAP_WORDS];	/* words past n_cap_words are 0 */
};

/* 0 or the queries' errors (-EINVAL for a NULL ret); *ret is written only on success. */
int hvcap_control_read_vcpu(struct hvcap_control *cp, uint32_t vm_id, uint32_t vcpu_id,
			    struct hvcap_vcpu_state *ret);

/* A stable, validated copy of a VM slot. */
struct hvcap_vm_state {
	uint32_t vm_id;
	char name[HVCAP_CTL_NAME_MAX + 1];
	char policy_name[HVCAP_CTL_NAME_MAX + 1];
	uint32_t n_vcpus;
	uint32_t apic_access_memslot;	/* enum hvcap_ctl_memslot */
	uint32_t apicv_inhibits;	/* bit n: reason n */
	bool hybrid_avic;
	bool snp;			/* its control pages avoid 2 MiB offsets */
};

/* 0 or the queries' errors; *ret is written only on success. */
int hvcap_control_read_vm(struct hvcap_control *cp, uint32_t vm_id, struct hvcap_vm_state *ret);

/* A stable, validated copy of the host record (44 KiB: allocate it rather than put it on a small stack). */
struct hvcap_host_state {
	uint32_t backend;		/* enum hvcap_ctl_backend */
	uint32_t flags;			/* HVCAP_CTL_HOST_* */
	uint32_t api_version;
	char fingerprint[HVCAP_CTL_FINGERPRINT_MAX + 1];	/* NUL-terminated, as the strings below */
	char kernel_release[72];
	char vendor_module[32];
	uint64_t microcode;
	uint32_t n_cap_words;
	uint32_t kvm_caps[HVCAP_CTL_CAP_WORDS];
	uint32_t host_caps[HVCAP_CTL_CAP_WORDS];
	uint32_t n_params;
	struct hvcap_ctl_param params[HVCAP_CTL_MAX_PARAMS];	/* NUL-terminated strings; past n_params zero */
};

/* 0 or the queries' errors; *ret is written only on success. */
int hvcap_control_read_host(struct hvcap_control *cp, struct hvcap_host_state *ret);

/*
 * The ids of the registered VMs, ascending, and of a VM's vCPUs, in
 * creation order: at most max written to ids, the total in *ret_n (so a
 * second call with a larger buffer gets them all; max 0 and ids NULL ask
 * for the count).  0 or the queries' errors (list_vcpus: -ENOENT for an
 * unknown VM); -ENOMEM (list_vms collects the ids before it sorts them).
 * On failure *ret_n is untouched and ids may have been written.
 */
int hvcap_control_list_vms(struct hvcap_control *cp, uint32_t *ids, size_t max, size_t *ret_n);
int hvcap_control_list_vcpus(struct hvcap_control *cp, uint32_t vm_id, uint32_t *ids, size_t max,
			     size_t *ret_n);

/*
 * A counter hvcapd increments with every change it publishes: poll it to
 * notice changes (hvctl top does).  0 or -errno (-ESTALE, -EAGAIN,
 * -EBADMSG as the queries).
 */
int hvcap_control_updates(struct hvcap_control *cp, uint64_t *ret);

/*
 * The header's generation, which changes whenever the file grows; the
 * handle maps the file again when it does (nothing already published
 * moves).  0 or -errno as hvcap_control_updates().
 */
int hvcap_control_generation(struct hvcap_control *cp, uint64_t *ret);

/* What a handle did since it was opened: for tests, benchmarks and monitoring. */
struct hvcap_control_stats {
	uint64_t reads;		/* stable copies of a record taken */
	uint64_t retries;	/* copies (or lookups) read again because hvcapd was writing */
	uint64_t remaps;	/* times the file was mapped again after it grew */
	uint64_t cache_hits;	/* queries answered without a copy: the record had not changed */
};

/* Copy the handle's counters to *ret (zeros for a NULL handle). */
void hvcap_control_get_stats(const struct hvcap_control *cp, struct hvcap_control_stats *ret);

#ifdef __cplusplus
}
#endif

#endif /* HVCAP_HVCAP_H */
