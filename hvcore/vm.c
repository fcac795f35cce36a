/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMs and vCPU creation (KVM-SEMANTICS.md §2-§5): the host a VM runs on,
 * the VM's vCPUs and control pages, and vCPU RESET.
 *
 * hvcore has no request queue: a KVM request (KVM_REQ_APICV_UPDATE and
 * the like) is processed by the vCPU it targets before the call that
 * raised it returns, which is what that vCPU does at its next entry.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm-internal.h"

/* A private arena starts small and doubles; this bounds it (4 GiB of pages). */
#define PRIVATE_ARENA_PAGES_MIN	64ull
#define PRIVATE_ARENA_PAGES_MAX	(1ull << 20)

static bool host_has(const struct hv_model_result *m, int feature)
{
	return caps_has(&m->raw, feature);
}

void hv_host_from_model(struct hv_host *ret, const struct hv_model_result *m,
			const struct hv_host_params *p)
{
	const struct caps_cpuid_entry *e;
	struct hv_host h = {
		.vendor = p->vendor,
		.tdp = p->tdp,
		.nested = p->nested,
		.amx_permitted = p->amx_permitted,
		.kvm_cpu_caps = m->kvm_cpu_caps,
		.host_maxphyaddr = HV_DEFAULT_MAXPHYADDR,
	};

	if (p->vendor == HV_VENDOR_AMD) {
		/* avic_hardware_setup(): AVIC needs NPT and the CPU's AVIC. */
		h.enable_apicv = p->avic && p->tdp && host_has(m, X86_FEATURE_AVIC);
		h.x2avic = host_has(m, X86_FEATURE_X2AVIC);
		/*
		 * CC_ATTR_HOST_SEV_SNP: the host kernel initialised SNP, which
		 * the CPU must support; KVM's own sev/sev_es parameters do not
		 * matter to the allocator.
		 */
		h.snp = p->snp && host_has(m, X86_FEATURE_SEV_SNP);
		h.host_eraps = host_has(m, X86_FEATURE_ERAPS);
	} else {
		h.enable_apicv = true;
	}

	e = caps_cpuid_find(&m->record.supported, 0xd, 0);
	if (e && e->index == 0)
		h.supported_xcr0 = e->eax | (uint64_t)e->edx << 32;
	e = caps_cpuid_find(&m->record.supported, 0xd, 1);
	if (e && e->index == 1)
		h.supported_xss = e->ecx | (uint64_t)e->edx << 32;
	/* KVM reports the host's physical address width in 0x8000_0008.EAX[7:0]. */
	e = caps_cpuid_find(&m->record.supported, 0x80000008, CAPS_CPUID_INDEX_ANY);
	if (e && (e->eax & 0xff))
		h.host_maxphyaddr = (int)(e->eax & 0xff);
	*ret = h;
}

int hv_vm_new(const struct hv_host *host, uint32_t max_vcpus, struct hv_page_arena *arena,
	      struct hv_vm **ret)
{
	struct hv_vm *vm;
	int r;

	if (!host || !ret || max_vcpus == 0)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->host = *host;
	vm->max_vcpus = max_vcpus;
	if (arena) {
		vm->arena = arena;
	} else {
		r = hv_page_arena_new(PRIVATE_ARENA_PAGES_MIN, &vm->arena);
		if (r < 0) {
			free(vm);
			return r;
		}
		vm->arena_is_private = true;
	}

	vm->hybrid_avic = hv_host_is_hybrid_avic(host);
	/*
	 * kvm_apicv_init(): without APICv the VM is inhibited for good.  The
	 * model's VMs have an in-kernel irqchip from the start, as QEMU
	 * creates it before any vCPU, so ABSENT is clear.
	 */
	if (!host->enable_apicv)
		vm->apicv_inhibit_reasons |= BIT(APICV_INHIBIT_REASON_DISABLED);
	*ret = vm;
	return 0;
}

static void vcpu_free(struct hv_vcpu *vcpu)
{
	struct hv_page_arena *a = vcpu->vm->arena;

	if (vcpu->pages.vmcb01 != HV_NO_PAGE)
		hv_page_arena_free_page(a, vcpu->pages.vmcb01);
	if (vcpu->pages.vmcb02 != HV_NO_PAGE)
		hv_page_arena_free_page(a, vcpu->pages.vmcb02);
	if (vcpu->pages.avic_backing != HV_NO_PAGE)
		hv_page_arena_free_page(a, vcpu->pages.avic_backing);
	free(vcpu->cpuid);
	free(vcpu);
}

void hv_vm_free(struct hv_vm *vm)
{
	if (!vm)
		return;
	for (size_t i = 0; i < vm->nr_vcpus; i++)
		vcpu_free(vm->vcpus[i]);
	free(vm->vcpus);
	free(vm->by_id);
	if (vm->arena_is_private)
		hv_page_arena_free(vm->arena);
	free(vm);
}

const struct hv_host *hv_vm_host(const struct hv_vm *vm)
{
	return &vm->host;
}

size_t hv_vm_vcpu_count(const struct hv_vm *vm)
{
	return vm->nr_vcpus;
}

/* The index in by_id where vcpu_id is or would go. */
static size_t by_id_slot(const struct hv_vm *vm, uint32_t vcpu_id)
{
	size_t lo = 0, hi = vm->nr_vcpus;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (vm->by_id[mid]->vcpu_id < vcpu_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct hv_vcpu *hv_vm_vcpu(const struct hv_vm *vm, uint32_t vcpu_id)
{
	size_t i = by_id_slot(vm, vcpu_id);

	if (i < vm->nr_vcpus && vm->by_id[i]->vcpu_id == vcpu_id)
		return vm->by_id[i];
	return NULL;
}

bool hv_host_is_avic_enabled(const struct hv_host *host)
{
	return host->vendor == HV_VENDOR_AMD && host->enable_apicv;
}

bool hv_host_is_x2avic_enabled(const struct hv_host *host)
{
	/* avic_hardware_setup(): x2AVIC whenever AVIC runs on a CPU that has it. */
	return hv_host_is_avic_enabled(host) && host->x2avic;
}

bool hv_host_is_hybrid_avic(const struct hv_host *host)
{
	/* SVM sets the flag in avic_hardware_setup() when AVIC runs without x2AVIC. */
	return hv_host_is_avic_enabled(host) && !host->x2avic;
}

bool hv_vm_is_hybrid_avic(const struct hv_vm *vm)
{
	return vm->hybrid_avic;
}

bool hv_vm_is_apic_access_memslot_enabled(const struct hv_vm *vm)
{
	return vm->apic_access_memslot_enabled;
}

bool hv_vm_is_apic_access_memslot_inhibited(const struct hv_vm *vm)
{
	return vm->apic_access_memslot_inhibited;
}

int hv_vm_alloc_control_page(struct hv_vm *vm, bool snp, uint64_t *ret_pfn)
{
	struct hv_page_arena *a = vm->arena;
	int r;

	for (;;) {
		uint64_t npages = hv_page_arena_npages(a);
		uint64_t size = npages ? npages * 2 : PRIVATE_ARENA_PAGES_MIN;

		r = hv_snp_safe_alloc_page(a, snp, ret_pfn);
		if (r != -ENOMEM)
			return r;
		/* A shared arena grows when its owner can back more pages. */
		if (!vm->arena_is_private)
			r = hv_page_arena_grow_by_hook(a);
		else if (npages >= PRIVATE_ARENA_PAGES_MAX)
			return r;
		else
			r = hv_page_arena_grow(a, size < PRIVATE_ARENA_PAGES_MAX ? size : PRIVATE_ARENA_PAGES_MAX);
		if (r < 0)
			return r;
	}
}

/* Room for one more vCPU in both arrays. */
static int vcpus_reserve(struct hv_vm *vm)
{
	struct hv_vcpu **v, **b;
	size_t n;

	if (vm->nr_vcpus < vm->vcpus_size)
		return 0;
	n = vm->vcpus_size ? vm->vcpus_size * 2 : 8;
	if (n > vm->max_vcpus)
		n = vm->max_vcpus;
	v = realloc(vm->vcpus, n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	vm->vcpus = v;
	b = realloc(vm->by_id, n * sizeof(*b));
	if (!b)
		return -ENOMEM;
	vm->by_id = b;
	vm->vcpus_size = n;
	return 0;
}

/* Models KVM's kvm_vcpu_reset(vcpu, false) as far as the rules go. */
static void vcpu_reset(struct hv_vcpu *vcpu)
{
	/* svm_vcpu_reset() -> init_vmcb(): the guest has no CPUID yet. */
	hv_init_vmcb_eraps(vcpu);
	hv_lapic_reset(vcpu);
	vcpu->xcr0 = HV_XFEATURE_MASK_FP;
	vcpu->ia32_xss = 0;
	vcpu->cr3 = 0;
	hv_vcpu_mark_rap_dirty(vcpu);
	vcpu->cr4 = 0;
	hv_update_cpuid_runtime(vcpu);
}

/*
 * Models KVM's kvm_vm_ioctl_create_vcpu() and kvm_arch_vcpu_create().
 * Pages come first so that a failure changes nothing: kvm_create_lapic()
 * takes the AVIC backing page, svm_vcpu_create() the VMCB (on VMX the
 * slot holds the VMCS, a plain page).
 */
int hv_vcpu_create(struct hv_vm *vm, uint32_t vcpu_id, struct hv_vcpu **ret)
{
	struct hv_vcpu *vcpu;
	size_t slot;
	int r;

	if (!vm)
		return -EINVAL;
	if (vm->nr_vcpus >= vm->max_vcpus)
		return -E2BIG;
	if (hv_vm_vcpu(vm, vcpu_id))
		return -EEXIST;
	r = vcpus_reserve(vm);
	if (r < 0)
		return r;

	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return -ENOMEM;
	vcpu->cpuid = calloc(1, sizeof(*vcpu->cpuid));
	if (!vcpu->cpuid) {
		free(vcpu);
		return -ENOMEM;
	}
	vcpu->vm = vm;
	vcpu->vcpu_id = vcpu_id;
	vcpu->pages = (struct hv_vcpu_pages) {
		.vmcb01 = HV_NO_PAGE, .vmcb02 = HV_NO_PAGE, .avic_backing = HV_NO_PAGE,
	};
	if (hv_vm_is_svm(vm) && vm->host.enable_apicv) {
		r = hv_vm_alloc_control_page(vm, vm->host.snp, &vcpu->pages.avic_backing);
		if (r < 0)
			goto err;
	}
	/* alloc_vmcs() on VMX: the SNP erratum is AMD's, so a plain page. */
	r = hv_vm_alloc_control_page(vm, hv_vm_is_svm(vm) && vm->host.snp, &vcpu->pages.vmcb01);
	if (r < 0)
		goto err;

	hv_vcpu_cpuid_init(vcpu);
	/* kvm_create_lapic(): APICv starts active and an update is requested. */
	vcpu->apicv_active = vm->host.enable_apicv;
	hv_vcpu_create_apicv(vcpu);
	vcpu_reset(vcpu);

	/* The vCPU becomes visible (kvm->vcpu_array), then handles its request. */
	slot = by_id_slot(vm, vcpu_id);
	memmove(vm->by_id + slot + 1, vm->by_id + slot, (vm->nr_vcpus - slot) * sizeof(*vm->by_id));
	vm->by_id[slot] = vcpu;
	vm->vcpus[vm->nr_vcpus++] = vcpu;
	if (vm->host.enable_apicv)
		hv_vcpu_update_apicv(vcpu);
	if (ret)
		*ret = vcpu;
	return 0;
err:
	vcpu_free(vcpu);
	return r;
}

uint32_t hv_vcpu_id(const struct hv_vcpu *vcpu)
{
	return vcpu->vcpu_id;
}

void hv_vcpu_control_pages(const struct hv_vcpu *vcpu, struct hv_vcpu_pages *ret)
{
	*ret = vcpu->pages;
}
