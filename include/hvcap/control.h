/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef HVCAP_CONTROL_H
#define HVCAP_CONTROL_H

/*
 * The layout of hvcapd's shared-memory control plane (ABI 1.0): a file
 * that hvcapd alone writes and clients map read-only.  Plain C11 with no
 * other includes than <stdint.h> and <stddef.h>, so that other programs
 * may copy it (it compiles as C++11 too); every offset and size is fixed
 * by a static assertion below.
 * docs/CONTROL-PLANE.md and hvcap-control(7) describe it in words.
 *
 * The file is a sequence of 4 KiB pages, in host byte order (x86: little
 * endian):
 *
 *   offset 0                     struct hvcap_ctl_header (one page)
 *   header.host_offset           struct hvcap_ctl_host
 *   header.vm_table_offset       struct hvcap_ctl_vm[header.vm_table_capacity]
 *   header.control_base          the control pages: page n (n <
 *                                header.n_control_pages) at control_base +
 *                                n * 4096; control_base is 2 MiB aligned
 *
 * Control page n is the page hvcore's arena handed out as page frame n:
 * a vCPU's control page is its VMCB (vmcb01), and for a VM created on a
 * host with SEV-SNP enabled (HVCAP_CTL_VM_SNP) no vCPU control page is at
 * a 2 MiB aligned file offset (KVM-SEMANTICS.md §5: snp_safe_alloc_page()).
 * Pages the arena gave for other uses (vmcb02, AVIC backing pages) hold no
 * USED record.
 *
 * Consistency.  Each record (the header's variable part, the host record,
 * each VM slot, each control page) starts with a sequence counter, odd
 * while hvcapd writes the record.  hvcapd writes
 *
 *	seq = s + 1 (relaxed); release fence; the fields; seq = s + 2 (release)
 *
 * and a reader
 *
 *	s1 = seq (acquire); if odd, retry; copy the record;
 *	acquire fence; s2 = seq (relaxed); if s1 != s2, retry;
 *
 * then validates the copy (check equals the record's checksum, counts and
 * page numbers in range, strings NUL-terminated) before it uses any value
 * in it; it never indexes the mapping with a value it has not validated,
 * and never reads past the header's file_size.  The checksum lets a reader
 * prove that a copy it accepted was not torn.
 *
 * Unused records.  A record whose seq is 0 was never written: it is all
 * zero and unused, and has no valid checksum.  Any other record has a
 * valid checksum; a VM slot or control page without its USED flag is
 * unused.  seq never decreases, also when a page is freed and reused, so
 * a reader that follows next_page must check that the page it reaches
 * still holds the vm_id (and, from a cache, the vcpu_id) it expects.
 *
 * Order.  hvcapd writes a control page before anything points to it,
 * links a vCPU into its VM's list before n_vcpus counts it, clears a
 * deleted VM's slot before it releases the VM's pages, and updates the
 * header (updates, n_vms) last.  A reader that finds records that do not
 * fit together (a list longer or shorter than n_vcpus, a page of another
 * VM) reads them again; if nothing changed in between, the file is corrupt.
 *
 * Growth.  When the file grows (more control pages), hvcapd extends it,
 * then publishes the new file_size and a new generation in the header.  A
 * reader that sees another generation than the one it mapped, or a page
 * number beyond its mapping, maps the file again (remap by generation).
 * Nothing already published moves: offsets stay valid across growth.
 *
 * Lifetime.  hvcapd creates the file when it starts (a new inode each
 * time: a reader holding an old one sees HVCAP_CTL_STATE_STOPPED once
 * hvcapd stopped cleanly) and keeps it current in the same event-loop
 * turn as every state change.
 */

#include <stddef.h>
#include <stdint.h>

#define HVCAP_CTL_MAGIC			"HVCAPCTL"	/* 8 bytes, no NUL */
#define HVCAP_CTL_ABI_MAJOR		1		/* incompatible changes */
#define HVCAP_CTL_ABI_MINOR		0		/* compatible additions */
#define HVCAP_CTL_PAGE_SIZE		4096u
#define HVCAP_CTL_CONTROL_ALIGN		(2u * 1024 * 1024)	/* of control_base */

/*
 * Feature words: feature id = word * 32 + bit in hvcap's word numbering
 * (enum caps_word: libcaps/words-cpuid.def, then words-msr.def), not the
 * kernel's cpufeatures.h words; hvcap_feature_lookup() gives the ids.
 * cap_words_hash in the header says which numbering a file uses.
 */
#define HVCAP_CTL_CAP_WORDS		64		/* room; n_cap_words are used */

#define HVCAP_CTL_NAME_MAX		64		/* VM name bytes, without the NUL */
#define HVCAP_CTL_FINGERPRINT_MAX	64
#define HVCAP_CTL_MAX_PARAMS		192
#define HVCAP_CTL_NO_PAGE		UINT64_C(0xffffffffffffffff)

/* Checksums: FNV-1a (32 bit); the hvcap_ctl_*_check() functions below say over what. */
#define HVCAP_CTL_FNV_OFFSET		UINT32_C(0x811c9dc5)
#define HVCAP_CTL_FNV_PRIME		UINT32_C(0x01000193)

static inline uint32_t hvcap_ctl_checksum(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= HVCAP_CTL_FNV_PRIME;
	}
	return h;
}

/* ---- header (file offset 0) -------------------------------------- */

enum hvcap_ctl_state {
	HVCAP_CTL_STATE_STARTING = 0,	/* being built: not yet consistent */
	HVCAP_CTL_STATE_RUNNING = 1,	/* hvcapd keeps it current */
	HVCAP_CTL_STATE_STOPPED = 2,	/* hvcapd stopped: nothing will change any more */
};

struct hvcap_ctl_header {
	/* Fixed once the file is created. */
	char magic[8];			/* HVCAP_CTL_MAGIC */
	uint16_t abi_major;		/* HVCAP_CTL_ABI_MAJOR: a reader refuses another */
	uint16_t abi_minor;		/* a reader accepts any */
	uint32_t page_size;		/* HVCAP_CTL_PAGE_SIZE */
	uint32_t header_size;		/* sizeof(struct hvcap_ctl_header) */
	uint32_t host_size;		/* sizeof(struct hvcap_ctl_host) */
	uint32_t vm_size;		/* sizeof(struct hvcap_ctl_vm) */
	uint32_t vcpu_size;		/* sizeof(struct hvcap_ctl_vcpu) (one page) */
	uint64_t host_offset;		/* page aligned */
	uint64_t vm_table_offset;	/* page aligned */
	uint32_t vm_table_capacity;	/* VM slots (hvcapd's max_vms) */
	uint32_t n_cap_words;		/* words used in every cap array (<= HVCAP_CTL_CAP_WORDS) */
	uint64_t control_base;		/* HVCAP_CTL_CONTROL_ALIGN aligned */
	/*
	 * FNV-1a (hvcap_ctl_checksum() from HVCAP_CTL_FNV_OFFSET) over the
	 * names of the n_cap_words feature words in order, each with its NUL
	 * ("CPUID_1_EDX\0CPUID_8000_0001_EDX\0..."): a reader whose catalog
	 * numbers the words otherwise refuses the file.
	 */
	uint32_t cap_words_hash;
	uint8_t reserved0[60];

	/* Variable: guarded by seq, checked by check. */
	uint32_t seq;
	uint32_t check;			/* hvcap_ctl_header_check() */
	uint64_t generation;		/* changes whenever file_size does */
	uint64_t file_size;		/* bytes: control_base + n_control_pages * 4096 */
	uint64_t n_control_pages;
	uint64_t updates;		/* +1 for every published change, anywhere */
	uint32_t state;			/* enum hvcap_ctl_state */
	uint32_t writer_pid;
	uint32_t n_vms;			/* VM slots in use */
	uint32_t reserved1[19];
};

/* ---- host record ------------------------------------------------- */

enum hvcap_ctl_backend {
	HVCAP_CTL_BACKEND_KVM = 1,	/* /dev/kvm probed */
	HVCAP_CTL_BACKEND_MODEL = 2,	/* hvcore's model of a described host */
};

#define HVCAP_CTL_HOST_SNP		(1u << 0)	/* SEV-SNP enabled: new VMs' control pages avoid 2 MiB offsets */
#define HVCAP_CTL_HOST_HYBRID_AVIC	(1u << 1)	/* AVIC without x2AVIC */

struct hvcap_ctl_param {
	char module[32];		/* "kvm", "kvm_amd", or "model"; NUL-terminated */
	char name[64];			/* NUL-terminated */
	char value[128];		/* NUL-terminated */
};

struct hvcap_ctl_host {
	uint32_t seq;
	uint32_t check;			/* hvcap_ctl_host_check() */
	uint32_t backend;		/* enum hvcap_ctl_backend */
	uint32_t flags;			/* HVCAP_CTL_HOST_* */
	uint32_t api_version;		/* KVM_GET_API_VERSION */
	uint32_t n_params;		/* <= HVCAP_CTL_MAX_PARAMS */
	char fingerprint[HVCAP_CTL_FINGERPRINT_MAX + 8];	/* at most HVCAP_CTL_FINGERPRINT_MAX bytes and a NUL */
	char kernel_release[72];	/* NUL-terminated (uname -r: up to 64 bytes) */
	char vendor_module[32];		/* NUL-terminated */
	uint64_t microcode;		/* 0 when unknown */
	uint32_t kvm_caps[HVCAP_CTL_CAP_WORDS];	/* what KVM supports (KVM_GET_SUPPORTED_CPUID) */
	uint32_t host_caps[HVCAP_CTL_CAP_WORDS];	/* what the host CPU has (raw CPUID) */
	struct hvcap_ctl_param params[HVCAP_CTL_MAX_PARAMS];
};

/* ---- VM slots ---------------------------------------------------- */

#define HVCAP_CTL_VM_USED		(1u << 0)	/* the slot holds a VM */
#define HVCAP_CTL_VM_HYBRID_AVIC	(1u << 1)
#define HVCAP_CTL_VM_SNP		(1u << 2)	/* its vCPUs' control pages avoid 2 MiB offsets */

enum hvcap_ctl_memslot {
	HVCAP_CTL_MEMSLOT_NOT_ALLOCATED = 0,
	HVCAP_CTL_MEMSLOT_ENABLED = 1,
	HVCAP_CTL_MEMSLOT_INHIBITED = 2,
};

struct hvcap_ctl_vm {
	uint32_t seq;
	uint32_t check;			/* hvcap_ctl_vm_check() */
	uint32_t flags;			/* HVCAP_CTL_VM_* */
	uint32_t vm_id;
	uint32_t n_vcpus;
	uint32_t apic_access_memslot;	/* enum hvcap_ctl_memslot */
	uint32_t apicv_inhibits;	/* bit n: APICv inhibit reason n (KVM's numbering) */
	uint32_t reserved0;
	uint64_t first_vcpu_page;	/* control page of the first vCPU, or HVCAP_CTL_NO_PAGE */
	char name[HVCAP_CTL_NAME_MAX + 8];		/* NUL-terminated */
	char policy_name[HVCAP_CTL_NAME_MAX + 8];	/* NUL-terminated */
	uint8_t reserved[72];
};

/* ---- vCPU control pages ------------------------------------------ */

#define HVCAP_CTL_VCPU_USED		(1u << 0)	/* the page holds a vCPU */
#define HVCAP_CTL_VCPU_CPUID_FROZEN	(1u << 1)	/* it has run: only its CPUID is accepted */
#define HVCAP_CTL_VCPU_GUEST_MODE	(1u << 2)	/* it runs L2 */
#define HVCAP_CTL_VCPU_RAP_DIRTY	(1u << 3)	/* its next VMRUN clears the RAP (ERAPS guests) */
#define HVCAP_CTL_VCPU_APICV_ACTIVE	(1u << 4)

enum hvcap_ctl_apic_mode {
	HVCAP_CTL_APIC_DISABLED = 0,
	HVCAP_CTL_APIC_XAPIC = 1,
	HVCAP_CTL_APIC_X2APIC = 2,
};

/* erap_ctl bits, as in the VMCB (KVM-SEMANTICS.md §3). */
#define HVCAP_CTL_ERAP_ALLOW_LARGER_RAP	(1u << 0)
#define HVCAP_CTL_ERAP_CLEAR_RAP	(1u << 1)

/* Where the VMCB control area keeps erap_ctl. */
#define HVCAP_CTL_VMCB_ERAP_CTL		0x5d
/* Where hvcap's own part of a control page starts (the VMCB save area's offset). */
#define HVCAP_CTL_VCPU_RECORD		0x400

struct hvcap_ctl_vcpu {
	/*
	 * 0x000: the VMCB control area, as KVM lays it out, where hvcap fills
	 * it in: only erap_ctl (vmcb01's).  Guarded by the record's seq.
	 */
	uint8_t vmcb_reserved0[HVCAP_CTL_VMCB_ERAP_CTL];
	uint8_t erap_ctl;		/* HVCAP_CTL_ERAP_* */
	uint8_t vmcb_reserved1[HVCAP_CTL_VCPU_RECORD - HVCAP_CTL_VMCB_ERAP_CTL - 1];

	/* 0x400: hvcap's record. */
	uint32_t seq;
	uint32_t check;			/* hvcap_ctl_vcpu_check() */
	uint32_t flags;			/* HVCAP_CTL_VCPU_* */
	uint32_t vm_id;
	uint32_t vcpu_id;
	uint32_t n_cpuid_entries;	/* of its CPUID (KVM_SET_CPUID2) */
	uint64_t next_page;		/* the control page of the VM's next vCPU, or HVCAP_CTL_NO_PAGE */
	uint64_t apic_base;		/* IA32_APIC_BASE */
	uint64_t cr3;
	uint32_t apic_mode;		/* enum hvcap_ctl_apic_mode */
	uint8_t vmcb02_erap_ctl;	/* in L2: the erap_ctl KVM built for L2 */
	uint8_t maxphyaddr;
	uint8_t reserved0[2];
	uint32_t cpu_caps[HVCAP_CTL_CAP_WORDS];	/* the guest's cpu_caps: guest_cpu_cap_has() */
	uint8_t reserved[HVCAP_CTL_PAGE_SIZE - HVCAP_CTL_VCPU_RECORD - 56 - 4 * HVCAP_CTL_CAP_WORDS];
};

/* ---- checksums: what "check" holds, computed over a copy ------------ */

/* The header's variable part after check: generation .. reserved1. */
static inline uint32_t hvcap_ctl_header_check(const struct hvcap_ctl_header *h)
{
	return hvcap_ctl_checksum(HVCAP_CTL_FNV_OFFSET, &h->generation,
				  sizeof(*h) - offsetof(struct hvcap_ctl_header, generation));
}

/* The host record after check: backend .. params[HVCAP_CTL_MAX_PARAMS - 1]. */
static inline uint32_t hvcap_ctl_host_check(const struct hvcap_ctl_host *h)
{
	return hvcap_ctl_checksum(HVCAP_CTL_FNV_OFFSET, &h->backend,
				  sizeof(*h) - offsetof(struct hvcap_ctl_host, backend));
}

/* A VM slot after check: flags .. reserved. */
static inline uint32_t hvcap_ctl_vm_check(const struct hvcap_ctl_vm *v)
{
	return hvcap_ctl_checksum(HVCAP_CTL_FNV_OFFSET, &v->flags,
				  sizeof(*v) - offsetof(struct hvcap_ctl_vm, flags));
}

/* A control page: flags .. cpu_caps[HVCAP_CTL_CAP_WORDS - 1], then erap_ctl. */
static inline uint32_t hvcap_ctl_vcpu_check(const struct hvcap_ctl_vcpu *v)
{
	uint32_t h = hvcap_ctl_checksum(HVCAP_CTL_FNV_OFFSET, &v->flags,
					offsetof(struct hvcap_ctl_vcpu, cpu_caps) + sizeof(v->cpu_caps) -
					offsetof(struct hvcap_ctl_vcpu, flags));

	return hvcap_ctl_checksum(h, &v->erap_ctl, 1);
}

/* ---- the ABI, fixed ---------------------------------------------- */

#ifdef __cplusplus
#define HVCAP_CTL_STATIC_ASSERT(e, m) static_assert(e, m)
#else
#define HVCAP_CTL_STATIC_ASSERT(e, m) _Static_assert(e, m)
#endif

HVCAP_CTL_STATIC_ASSERT(sizeof(struct hvcap_ctl_header) == 256, "hvcap_ctl_header size");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, magic) == 0, "magic");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, abi_major) == 8, "abi_major");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, abi_minor) == 10, "abi_minor");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, page_size) == 12, "page_size");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, header_size) == 16, "header_size");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, host_size) == 20, "host_size");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, vm_size) == 24, "vm_size");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, vcpu_size) == 28, "vcpu_size");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, host_offset) == 32, "host_offset");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, vm_table_offset) == 40, "vm_table_offset");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, vm_table_capacity) == 48, "vm_table_capacity");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, n_cap_words) == 52, "n_cap_words");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, control_base) == 56, "control_base");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, cap_words_hash) == 64, "cap_words_hash");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, seq) == 128, "header seq");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, check) == 132, "header check");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, generation) == 136, "generation");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, file_size) == 144, "file_size");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, n_control_pages) == 152, "n_control_pages");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, updates) == 160, "updates");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, state) == 168, "state");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, writer_pid) == 172, "writer_pid");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_header, n_vms) == 176, "n_vms");

HVCAP_CTL_STATIC_ASSERT(sizeof(struct hvcap_ctl_param) == 224, "hvcap_ctl_param size");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, seq) == 0, "host seq");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, check) == 4, "host check");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, backend) == 8, "backend");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, flags) == 12, "host flags");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, api_version) == 16, "api_version");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, n_params) == 20, "n_params");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, fingerprint) == 24, "fingerprint");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, kernel_release) == 96, "kernel_release");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, vendor_module) == 168, "vendor_module");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, microcode) == 200, "microcode");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, kvm_caps) == 208, "kvm_caps");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, host_caps) == 464, "host_caps");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_host, params) == 720, "params");
HVCAP_CTL_STATIC_ASSERT(sizeof(struct hvcap_ctl_host) == 720 + 192 * 224, "hvcap_ctl_host size");

HVCAP_CTL_STATIC_ASSERT(sizeof(struct hvcap_ctl_vm) == 256, "hvcap_ctl_vm size");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vm, seq) == 0, "vm seq");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vm, check) == 4, "vm check");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vm, flags) == 8, "vm flags");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vm, vm_id) == 12, "vm_id");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vm, n_vcpus) == 16, "n_vcpus");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vm, apic_access_memslot) == 20, "apic_access_memslot");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vm, apicv_inhibits) == 24, "apicv_inhibits");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vm, first_vcpu_page) == 32, "first_vcpu_page");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vm, name) == 40, "name");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vm, policy_name) == 112, "policy_name");

HVCAP_CTL_STATIC_ASSERT(sizeof(struct hvcap_ctl_vcpu) == HVCAP_CTL_PAGE_SIZE, "hvcap_ctl_vcpu is one page");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, erap_ctl) == 0x5d, "erap_ctl at the VMCB's offset");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, seq) == 0x400, "vcpu seq");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, check) == 0x404, "vcpu check");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, flags) == 0x408, "vcpu flags");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, vm_id) == 0x40c, "vcpu vm_id");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, vcpu_id) == 0x410, "vcpu_id");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, n_cpuid_entries) == 0x414, "n_cpuid_entries");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, next_page) == 0x418, "next_page");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, apic_base) == 0x420, "apic_base");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, cr3) == 0x428, "cr3");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, apic_mode) == 0x430, "apic_mode");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, vmcb02_erap_ctl) == 0x434, "vmcb02_erap_ctl");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, maxphyaddr) == 0x435, "maxphyaddr");
HVCAP_CTL_STATIC_ASSERT(offsetof(struct hvcap_ctl_vcpu, cpu_caps) == 0x438, "cpu_caps");

#endif /* HVCAP_CONTROL_H */
