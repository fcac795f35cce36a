/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CPUID entry sets, MSR sets, and decoding a dump into named features. */

#include <errno.h>
#include <string.h>

#include <libcaps/cpuid.h>

bool caps_cpuid_function_is_indexed(uint32_t function)
{
	switch (function) {
	case 0x4: case 0x7: case 0xb: case 0xd: case 0xf: case 0x10:
	case 0x12: case 0x14: case 0x17: case 0x18: case 0x1d: case 0x1e:
	case 0x1f: case 0x24: case 0x8000001d:
		return true;
	default:
		return false;
	}
}

int caps_cpuid_function_range(uint32_t function, uint32_t *ret_base)
{
	/* Intel's 0x2000_0000 range is Xeon Phi's; libvirt's dumps probe it. */
	static const uint32_t bases[] = {
		0x00000000, 0x20000000, 0x80000000, 0x80860000, 0xc0000000,
	};

	/*
	 * Hypervisors use 0x4000_0000 in classes of 0x100 leaves (KVM and
	 * Xen/Hyper-V at 0x4000_0100, ...); `cpuid -r` probes the second.
	 */
	if (function - 0x40000000 < 0x10000) {
		if (ret_base)
			*ret_base = function & ~UINT32_C(0xff);
		return 0;
	}
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (function - bases[i] < 0x100) {
			if (ret_base)
				*ret_base = bases[i];
			return 0;
		}
	}
	return -ERANGE;
}

uint32_t caps_cpuid_entry_reg(const struct caps_cpuid_entry *e, enum caps_reg reg)
{
	switch (reg) {
	case CAPS_REG_EAX: return e->eax;
	case CAPS_REG_EBX: return e->ebx;
	case CAPS_REG_ECX: return e->ecx;
	case CAPS_REG_EDX: return e->edx;
	}
	return 0;
}

void caps_cpuid_entry_set_reg(struct caps_cpuid_entry *e, enum caps_reg reg, uint32_t value)
{
	switch (reg) {
	case CAPS_REG_EAX: e->eax = value; break;
	case CAPS_REG_EBX: e->ebx = value; break;
	case CAPS_REG_ECX: e->ecx = value; break;
	case CAPS_REG_EDX: e->edx = value; break;
	}
}

void caps_cpuid_init(struct caps_cpuid *c)
{
	c->nent = 0;
}

int caps_cpuid_add(struct caps_cpuid *c, const struct caps_cpuid_entry *e)
{
	if (e->flags & ~CAPS_CPUID_FLAGS_ALL)
		return -EINVAL;
	for (size_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == e->function && c->entries[i].index == e->index)
			return -EEXIST;
	if (c->nent >= CAPS_CPUID_MAX_ENTRIES)
		return -E2BIG;
	c->entries[c->nent++] = *e;
	return 0;
}

const struct caps_cpuid_entry *caps_cpuid_find(const struct caps_cpuid *c,
					       uint32_t function, uint32_t index)
{
	for (size_t i = 0; i < c->nent; i++) {
		const struct caps_cpuid_entry *e = &c->entries[i];

		if (e->function != function)
			continue;
		if (index == CAPS_CPUID_INDEX_ANY ||
		    !(e->flags & CAPS_CPUID_FLAG_SIGNIFICANT_INDEX) || e->index == index)
			return e;
	}
	return NULL;
}

void caps_cpuid_mark_indexed(struct caps_cpuid *c)
{
	for (size_t i = 0; i < c->nent; i++) {
		struct caps_cpuid_entry *e = &c->entries[i];
		bool indexed = caps_cpuid_function_is_indexed(e->function);

		for (size_t j = 0; j < c->nent && !indexed; j++)
			if (c->entries[j].function == e->function && c->entries[j].index != 0)
				indexed = true;
		if (indexed)
			e->flags |= CAPS_CPUID_FLAG_SIGNIFICANT_INDEX;
	}
}

bool caps_cpuid_equal(const struct caps_cpuid *a, const struct caps_cpuid *b)
{
	if (a->nent != b->nent)
		return false;
	return memcmp(a->entries, b->entries, a->nent * sizeof(a->entries[0])) == 0;
}

void caps_msrs_init(struct caps_msrs *m)
{
	m->n = 0;
}

int caps_msrs_add(struct caps_msrs *m, uint32_t index, uint64_t value)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->msrs[i].index == index)
			return -EEXIST;
	if (m->n >= CAPS_MSR_MAX)
		return -E2BIG;
	m->msrs[m->n++] = (struct caps_msr) { .index = index, .value = value };
	return 0;
}

int caps_msrs_get(const struct caps_msrs *m, uint32_t index, uint64_t *ret_value)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->msrs[i].index == index) {
			*ret_value = m->msrs[i].value;
			return 0;
		}
	}
	return -ENOENT;
}

void caps_dump_init(struct caps_dump *d)
{
	caps_cpuid_init(&d->cpuid);
	caps_msrs_init(&d->msrs);
	d->comment[0] = '\0';
}

/* The raw value of one feature word; 0 when absent. */
static uint32_t word_value(const struct caps_cpuid *c, const struct caps_msrs *msrs, enum caps_word w)
{
	const struct caps_word_info *wi = caps_word_info(w);

	if (wi->kind == CAPS_WORD_MSR) {
		uint64_t v;

		if (!msrs || caps_msrs_get(msrs, wi->msr, &v) < 0)
			return 0;
		return wi->msr_high ? (uint32_t)(v >> 32) : (uint32_t)v;
	} else {
		const struct caps_cpuid_entry *e = caps_cpuid_find(c, wi->function, wi->index);

		/*
		 * An entry without SIGNIFICANT_INDEX answers every index, as
		 * in KVM; a raw dump gets the flag from its reader, so a
		 * missing sub-leaf reads as absent rather than as sub-leaf 0.
		 */
		if (!e)
			return 0;
		return caps_cpuid_entry_reg(e, wi->reg);
	}
}

static uint32_t dump_word(const struct caps_dump *d, enum caps_word w)
{
	return word_value(&d->cpuid, &d->msrs, w);
}

void caps_from_cpuid(struct caps *ret, const struct caps_cpuid *c, const struct caps_msrs *msrs)
{
	for (int w = 0; w < NR_CAPS_WORDS; w++)
		ret->words[w] = word_value(c, msrs, (enum caps_word)w);
}

void caps_from_dump(struct caps *ret, const struct caps_dump *d)
{
	caps_from_cpuid(ret, &d->cpuid, &d->msrs);
}

static void put_reg_chars(char *dst, uint32_t reg)
{
	for (int i = 0; i < 4; i++)
		dst[i] = (char)((reg >> (8 * i)) & 0xff);
}

int caps_cpu_id_decode(const struct caps_dump *d, struct caps_cpu_id *ret)
{
	const struct caps_cpuid_entry *e0 = caps_cpuid_find(&d->cpuid, 0, 0);
	const struct caps_cpuid_entry *e1 = caps_cpuid_find(&d->cpuid, 1, 0);
	struct caps_cpu_id id = { 0 };
	unsigned base_family, base_model;

	if (!e0 || !e1)
		return -ENOENT;

	/* The vendor string is EBX, EDX, ECX in that order. */
	put_reg_chars(id.vendor, e0->ebx);
	put_reg_chars(id.vendor + 4, e0->edx);
	put_reg_chars(id.vendor + 8, e0->ecx);
	for (int i = 0; i < 12; i++)
		if ((unsigned char)id.vendor[i] < 0x20 || (unsigned char)id.vendor[i] > 0x7e)
			id.vendor[i] = '?';

	/*
	 * Family: base family, plus the extended family when the base is
	 * 0xF.  Model: the extended model is the high nibble when the base
	 * family is 6 or 0xF (Intel SDM, AMD APM: the same rule).
	 */
	id.signature = e1->eax & 0x0fff3fff;
	base_family = (e1->eax >> 8) & 0xf;
	base_model = (e1->eax >> 4) & 0xf;
	id.stepping = e1->eax & 0xf;
	id.family = base_family;
	if (base_family == 0xf)
		id.family += (e1->eax >> 20) & 0xff;
	id.model = base_model;
	if (base_family == 0x6 || base_family == 0xf)
		id.model += ((e1->eax >> 16) & 0xf) << 4;

	/* Brand string: 0x8000_0002..4, when the extended range reaches them. */
	const struct caps_cpuid_entry *ext = caps_cpuid_find(&d->cpuid, 0x80000000, 0);
	if (ext && ext->eax >= 0x80000004) {
		char *p = id.brand;
		bool complete = true;

		for (uint32_t fn = 0x80000002; fn <= 0x80000004; fn++) {
			const struct caps_cpuid_entry *b = caps_cpuid_find(&d->cpuid, fn, 0);

			if (!b) {
				complete = false;
				break;
			}
			put_reg_chars(p, b->eax);
			put_reg_chars(p + 4, b->ebx);
			put_reg_chars(p + 8, b->ecx);
			put_reg_chars(p + 12, b->edx);
			p += 16;
		}
		if (!complete) {
			id.brand[0] = '\0';
		} else {
			size_t n, start = 0;

			id.brand[48] = '\0';
			n = strlen(id.brand);
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)id.brand[i] < 0x20 || (unsigned char)id.brand[i] > 0x7e)
					id.brand[i] = '?';
			/* Vendors pad the brand string with leading and trailing blanks. */
			while (start < n && id.brand[start] == ' ')
				start++;
			while (n > start && id.brand[n - 1] == ' ')
				n--;
			memmove(id.brand, id.brand + start, n - start);
			id.brand[n - start] = '\0';
		}
	}

	*ret = id;
	return 0;
}

size_t caps_unknown_bits(const struct caps_dump *d, struct caps_unknown_bit *ret, size_t n)
{
	size_t total = 0;

	for (int w = 0; w < NR_CAPS_WORDS; w++) {
		/* Numeric fields (a version, a size) are neither. */
		uint32_t bits = dump_word(d, (enum caps_word)w) & ~caps_word_info(w)->field_mask;

		while (bits) {
			int bit = __builtin_ctz(bits);

			bits &= bits - 1;
			if (caps_feature_info(w * 32 + bit))
				continue;
			if (total < n)
				ret[total] = (struct caps_unknown_bit) {
					.word = (enum caps_word)w, .bit = (uint8_t)bit,
				};
			total++;
		}
	}
	return total;
}
