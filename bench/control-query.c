/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How fast is a capability query on the control plane?  One run measures,
 * for the same vCPU and feature:
 *
 *   bit test   a plain in-process test of a bit in a cpu_caps array
 *   control    hvcap_control_guest_cpu_cap_has() on hvcapd's control plane
 *   socket     io.hvcap.Vm.Get over hvcapd's socket, looking the feature up
 *              in the reply (what a client without the control plane does)
 *
 * and prints nanoseconds per query and the ratios.  bench/run-control.sh
 * starts hvcapd, registers a VM, pins both to one CPU and runs this.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <hvcap/hvcap.h>
#include <proto/client.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Keep the compiler from hoisting or dropping what a loop computes. */
#define OPAQUE(x) __asm__ volatile("" : "+r"(x))

static volatile int sink;

/* The best of ROUNDS rounds of n queries: ns per query. */
#define ROUNDS 5

static double bench_bit_test(const uint32_t *caps, int feature, long n)
{
	double best = 1e30;

	for (int round = 0; round < ROUNDS; round++) {
		int hits = 0;
		double t0 = now_ns(), t;

		for (long i = 0; i < n; i++) {
			int f = feature;

			OPAQUE(f);
			hits += (caps[f / 32] >> (f % 32)) & 1;
		}
		t = (now_ns() - t0) / (double)n;
		sink = hits;
		if (t < best)
			best = t;
	}
	return best;
}

static double bench_control(struct hvcap_control *cp, uint32_t vm, uint32_t vcpu, int feature, long n,
			    int *ret_answer)
{
	double best = 1e30;

	for (int round = 0; round < ROUNDS; round++) {
		int hits = 0;
		double t0 = now_ns(), t;

		for (long i = 0; i < n; i++) {
			int f = feature, r;

			OPAQUE(f);
			r = hvcap_control_guest_cpu_cap_has(cp, vm, vcpu, f);
			if (r < 0) {
				fprintf(stderr, "bench: hvcap_control_guest_cpu_cap_has: %s\n", strerror(-r));
				exit(1);
			}
			hits += r;
			*ret_answer = r;
		}
		t = (now_ns() - t0) / (double)n;
		sink = hits;
		if (t < best)
			best = t;
	}
	return best;
}

/* Vm.Get and a look for the feature's name in the vCPU's features. */
static int socket_query(struct proto_client *c, uint32_t vm, uint32_t vcpu, const char *name)
{
	struct json_object *p = json_object_new_object(), *v, *vcpus, *features;
	struct proto_reply reply;
	int r, found = 0;

	json_object_object_add(p, "vm", json_object_new_int64(vm));
	r = proto_client_call(c, "io.hvcap.Vm.Get", p, 0, &reply);
	json_object_put(p);
	if (r < 0 || reply.error[0]) {
		fprintf(stderr, "bench: io.hvcap.Vm.Get: %s\n", r < 0 ? strerror(-r) : reply.error);
		exit(1);
	}
	if (json_object_object_get_ex(reply.parameters, "vm", &v) && json_object_object_get_ex(v, "vcpus", &vcpus)) {
		for (size_t i = 0; i < json_object_array_length(vcpus); i++) {
			struct json_object *x = json_object_array_get_idx(vcpus, i), *id;

			if (!json_object_object_get_ex(x, "vcpu", &id) || json_object_get_int64(id) != vcpu ||
			    !json_object_object_get_ex(x, "features", &features))
				continue;
			for (size_t k = 0; k < json_object_array_length(features); k++)
				found |= strcmp(json_object_get_string(json_object_array_get_idx(features, k)), name) == 0;
		}
	}
	proto_reply_done(&reply);
	return found;
}

static double bench_socket(struct proto_client *c, uint32_t vm, uint32_t vcpu, const char *name, long n,
			   int *ret_answer)
{
	double best = 1e30;

	for (int round = 0; round < ROUNDS; round++) {
		double t0 = now_ns(), t;

		for (long i = 0; i < n; i++)
			*ret_answer = socket_query(c, vm, vcpu, name);
		t = (now_ns() - t0) / (double)n;
		if (t < best)
			best = t;
	}
	return best;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "address", required_argument, NULL, 'a' },
		{ "vm",      required_argument, NULL, 'v' },
		{ "vcpu",    required_argument, NULL, 'u' },
		{ "feature", required_argument, NULL, 'f' },
		{ "queries", required_argument, NULL, 'n' },
		{ "help",    no_argument,       NULL, 'h' },
		{ 0 }
	};
	const char *control = NULL, *address = NULL, *name = "avx2";
	long n = 10 * 1000 * 1000, n_socket;
	uint32_t vm = 0, vcpu = 0;
	struct hvcap_vcpu_state state;
	struct hvcap_control *cp;
	struct proto_client *client;
	double bit, ctl, sock;
	int opt, feature, r, a_ctl = -1, a_sock = -1;

	while ((opt = getopt_long(argc, argv, "c:a:v:u:f:n:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': control = optarg; break;
		case 'a': address = optarg; break;
		case 'v': vm = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'u': vcpu = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'f': name = optarg; break;
		case 'n': n = strtol(optarg, NULL, 10); break;
		default:
			printf("Usage: %s --control PATH --address unix:PATH --vm ID [--vcpu ID] [--feature NAME]"
			       " [--queries N]\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!control || !address || n < 1000) {
		fprintf(stderr, "bench: --control, --address and --vm are required (--help)\n");
		return 2;
	}
	feature = hvcap_feature_lookup(name);
	if (feature < 0) {
		fprintf(stderr, "bench: unknown feature '%s'\n", name);
		return 2;
	}
	r = hvcap_control_open(control, &cp);
	if (r < 0) {
		fprintf(stderr, "bench: %s: %s\n", control, strerror(-r));
		return 1;
	}
	r = hvcap_control_read_vcpu(cp, vm, vcpu, &state);
	if (r < 0) {
		fprintf(stderr, "bench: vCPU %u of VM %u: %s\n", vcpu, vm, strerror(-r));
		return 1;
	}
	r = proto_client_connect(address, &client);
	if (r < 0) {
		fprintf(stderr, "bench: %s: %s\n", address, strerror(-r));
		return 1;
	}
	n_socket = n / 1000 < 2000 ? n / 1000 : 2000;

	bit = bench_bit_test(state.cpu_caps, feature, n);
	ctl = bench_control(cp, vm, vcpu, feature, n, &a_ctl);
	sock = bench_socket(client, vm, vcpu, hvcap_feature_name(feature), n_socket, &a_sock);
	if (a_ctl != a_sock) {
		fprintf(stderr, "bench: the control plane says %d, the socket %d\n", a_ctl, a_sock);
		return 1;
	}
	printf("query: guest_cpu_cap_has(VM %u, vCPU %u, %s) = %d, best of %d rounds\n", vm, vcpu,
	       hvcap_feature_name(feature), a_ctl, ROUNDS);
	printf("  bit test (in process)         %10.2f ns  (%ld queries a round)\n", bit, n);
	printf("  control plane (shared memory) %10.2f ns  (%ld queries a round)\n", ctl, n);
	printf("  socket (io.hvcap.Vm.Get)      %10.0f ns  (%ld queries a round)\n", sock, n_socket);
	printf("ratios: control / bit test = %.1fx (target 10x); socket / control = %.0fx\n", ctl / bit,
	       sock / ctl);
	proto_client_free(client);
	hvcap_control_close(cp);
	return 0;
}
