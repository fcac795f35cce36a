/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The shared-memory control plane's writer (control.c): the file that
 * include/hvcap/control.h lays out, which hvcapd alone writes and
 * clients map read-only (DESIGN.md §6).
 *
 * Its control pages are the page frames of one daemon-wide hvcore page
 * arena, which every VM allocates from: control page n is page frame n,
 * so a vCPU's control page is its VMCB (vmcb01), and hvcore's SNP-safe
 * allocation keeps those off 2 MiB aligned file offsets on an SNP host.
 * The arena grows through its grow hook, which extends the file first.
 *
 * Used by hvcapd.c (life, reload) and state.c (every saved or removed
 * VM), in the same event-loop turn as the change.  Publishing cannot
 * fail: growth, the only step that can, happens when hvcore allocates a
 * page, and fails that allocation (the mutating call) instead.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct hvcapd;
struct hvcapd_vm;
struct hv_page_arena;

struct hvcapd_control {
	struct hv_page_arena *arena;	/* page frame n = control page n */
	uint64_t n_pages;		/* the arena's size, = the file's control pages once it exists */

	/* The file: fd -1 and map NULL until hvcapd_control_create(). */
	const char *path;
	int fd;
	uint8_t *map;			/* all of it, shared, read-write */
	uint64_t file_size;
	uint64_t control_base;
	uint32_t capacity;		/* VM slots */
	uint64_t *slots;		/* one bit per slot in use */
	uint32_t n_vms;

	/* The header's variable part, as last published. */
	uint64_t generation;
	uint64_t updates;
	uint32_t state;			/* enum hvcap_ctl_state */
};

/*
 * The daemon-wide arena with its grow hook, before any VM exists (VMs
 * take their pages from it, restored ones included).  -ENOMEM.
 */
int hvcapd_control_init(struct hvcapd *d);

/*
 * Create the file at cfg->control once the VMs are restored: build all
 * of it under a temporary name in the same directory (header STARTING,
 * the host record, the VM table, every VM and its vCPUs), mark it
 * RUNNING and rename() it over the path, so that every start makes a new
 * inode.  Mode 0640, group cfg->control_gid.  Logs the path and the
 * error on failure, which stops the start.  A NULL cfg->control (no
 * control plane) is 0 and nothing.
 */
int hvcapd_control_create(struct hvcapd *d);

/* Publish vm (a slot on first use) and its vCPUs' control pages, as they are now. */
void hvcapd_control_publish_vm(struct hvcapd *d, struct hvcapd_vm *vm);

/*
 * Clear vm's slot and its vCPUs' control pages (published as unused),
 * before hvcore gives the pages back to the arena with the VM.
 */
void hvcapd_control_unpublish_vm(struct hvcapd *d, struct hvcapd_vm *vm);

/* Publish the host record again (after a reload). */
void hvcapd_control_publish_host(struct hvcapd *d);

/*
 * The daemon stops: publish STOPPED, unmap and close.  The file stays,
 * so that readers of this inode see that nothing will change any more.
 */
void hvcapd_control_stop(struct hvcapd *d);

/* Free the arena, after every VM (hvcapd_registry_done()). */
void hvcapd_control_done(struct hvcapd *d);
