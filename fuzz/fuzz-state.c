/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: hvcapd's state-file loader (daemon/state.c), in
 * process: the input is <state_dir>/vms/1.json, read by load_vm() as
 * hvcapd_state_restore() does at start, which decodes it through the
 * state file's field tables and replays the VM into hvcore
 * (hv_vm_new(), hv_vcpu_create(), KVM_SET_CPUID2, hv_vcpu_restore(),
 * hv_vm_restore()).  The daemon serves a model host: the synthetic AMD
 * host of tests/unit/synthetic-hosts.h with AVIC, written as a dump.
 *
 * load_vm() is static: this file includes state.c, and the target links
 * the rest of the daemon but main.c (fuzz/local.mk).
 */

#include "state.c"

#include "fuzz-hosts.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hvcapd hd;
static char dir[64];
static char dump_path[96];
static char file_path[96];

static void cleanup(void)
{
	unlink(file_path);
	unlink(dump_path);
	if (hd.vms_path)
		rmdir(hd.vms_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	int r;

	snprintf(dir, sizeof(dir), "/tmp/hvcap-fuzz-state-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(dump_path, sizeof(dump_path), "%s/host.json", dir);
	fuzz_write_synthetic_host(dump_path);

	hvcapd_log_set_level(LOG_CRIT);
	hd.cfg.host = HVCAPD_HOST_MODEL;
	hd.cfg.host_dump = dump_path;
	hd.cfg.params[hd.cfg.n_params++] = "kernel=7.0";
	hd.cfg.params[hd.cfg.n_params++] = "avic=on";
	hd.cfg.max_vcpus_per_vm = 64;
	r = hvcapd_host_new(&hd.cfg, &hd.host, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "fuzz-state: the model host: %s\n", err);
		abort();
	}
	if (asprintf(&hd.vms_path, "%s/vms", dir) < 0 || mkdir(hd.vms_path, 0700) < 0)
		abort();
	hd.vms_fd = -1;
	snprintf(file_path, sizeof(file_path), "%s/1.json", hd.vms_path);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvcapd_vm *vm = NULL;
	char err[512] = "";
	int fd, r;

	fd = open(file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (caps_write_all(fd, (const char *)data, size) < 0)
		abort();
	close(fd);
	r = load_vm(&hd, 1, &vm, err, sizeof(err));
	if (getenv("HVCAP_FUZZ_DEBUG"))
		fprintf(stderr, "load_vm = %d: %s\n", r, err);
	if (r == 0) {
		if (!vm || vm->id != 1)
			abort();
		hvcapd_vm_free(vm);
	} else if (!memchr(err, 0, sizeof(err)) || !err[0]) {
		/* hvcapd logs why a VM is not restored: there must be a why. */
		fprintf(stderr, "load_vm = %d without a message\n", r);
		abort();
	}
	return 0;
}
