/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What this machine's CPU says about itself. */

#include <libcaps/cpuid.h>

/*
 * Execute the CPUID instruction for every leaf and sub-leaf the CPU
 * enumerates, following each leaf's own sub-leaf rule (see host-cpuid.c),
 * up to the maxima in leaves 0, 0x4000_0000 (when a hypervisor is
 * present), 0x8000_0000 and, on Centaur/Zhaoxin and Transmeta CPUs,
 * 0xC000_0000 and 0x8086_0000.  Indexed entries carry SIGNIFICANT_INDEX.
 * -E2BIG if the CPU enumerates more than CAPS_CPUID_MAX_ENTRIES entries.
 */
int caps_host_cpuid_read(struct caps_dump *ret);
