#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/libvirt-compare.py SOCKET CALL_FILE COUNT [LIBVIRT_COUNT]: the same
# feature check asked of hvcapd and of libvirt, on this host, one call at a
# time from one Python client (bench/run-all.sh runs it):
#
#   hvcap    io.hvcap.Policy.Validate of CALL_FILE's policy on hvcapd's SOCKET:
#            the NUL-terminated Varlink call written and the reply read up to
#            its NUL by a plain socket loop, COUNT times
#   libvirt  virConnectCompareHypervisorCPU() of the same policy as a CPU XML
#            (below), LIBVIRT_COUNT (default COUNT) times, with the virttype
#            kvm (else qemu, which is TCG: another question)
#
# Both are timed from the same Python process, in rounds (hvcap, libvirt,
# hvcap, ...) so that the load on the machine falls on both, each round
# after a warm-up as bench/varlink-rtt's.  Prints the p50 and p99 of each,
# the ratio libvirt / hvcap, and the answer each gave (hvcap's verdict,
# libvirt's identical/superset/incompatible), then the same with the
# policy's optional features required, so that a reader sees they answer
# the same question.  With --varlink-rtt PATH, also the C client's figure
# (bench/varlink-rtt latency).  Timings are printed, never asserted.
#
# Exits 0 after printing, and 0 with "skipped: ..." when libvirt cannot
# answer (no connection, the compare call fails, a policy libvirt has no
# counterpart for); 1 when hvcapd cannot.  Python's standard library and
# the libvirt module (python3-libvirt) only.

import argparse
import json
import socket
import subprocess
import sys
import time

try:
    import libvirt
except ImportError:
    print("skipped: no libvirt module for %s (python3-libvirt)" % sys.executable)
    sys.exit(0)

RESULTS = {
    libvirt.VIR_CPU_COMPARE_ERROR: "error",
    libvirt.VIR_CPU_COMPARE_INCOMPATIBLE: "incompatible",
    libvirt.VIR_CPU_COMPARE_IDENTICAL: "identical",
    libvirt.VIR_CPU_COMPARE_SUPERSET: "superset",
}


def skip(why):
    print("skipped: %s" % why)
    sys.exit(0)


class Hvcapd:
    """One Varlink connection: a call is one JSON object and a NUL."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(path)
        except OSError as e:
            raise OSError("cannot connect to hvcapd on %s: %s" % (path, e.strerror)) from None

    def raw(self, message):
        """Send a framed call, return the reply's bytes (NUL excluded)."""
        self.sock.sendall(message)
        chunks = []
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("hvcapd closed the connection")
            chunks.append(chunk)
            # One call in flight: the reply's NUL is the last byte read.
            if chunk[-1] == 0:
                return b"".join(chunks)[:-1]

    def call(self, method, parameters):
        reply = json.loads(self.raw(frame(method, parameters)))
        if "error" in reply:
            raise RuntimeError("%s: %s %s" % (method, reply["error"],
                                              json.dumps(reply.get("parameters", {}))))
        return reply["parameters"]


def frame(method, parameters):
    return json.dumps({"method": method, "parameters": parameters}).encode() + b"\0"


# The policy as libvirt's CPU XML.  hvcap's "base": "host" (every feature
# KVM supports) is libvirt's mode='host-model': the hypervisor's CPU, and
# with no <model> element the features listed are all libvirt compares, as
# hvcap checks only the features the policy names against the host.
# (mode='custom' needs a <model>, whose own features libvirt would then
# require too: "Non-empty feature list specified without CPU model".)
# "base": "none" compares the same way.  Each feature keeps its policy,
# which means the same on both sides for virConnectCompareHypervisorCPU:
#
#   require   <feature policy='require'>   must be in the hypervisor's CPU
#   optional  <feature policy='optional'>  not checked
#   disable   <feature policy='disable'>   not checked (the guest goes without)
#   force     <feature policy='force'>     not checked
#   forbid    <feature policy='forbid'>    must not be in the hypervisor's CPU
#
# with libvirt's spelling (sse4.2, tsc-deadline, pclmuldq) from hvcapd's own
# catalog (Host.GetCapabilities: each feature's "qemu" name).  "apic":
# "x2apic" adds x2apic as require unless the policy names it (POLICY.md rule
# 3).  vcpus, migratable and phys_bits have no counterpart in a CPU
# comparison; a psABI base (x86-64-v2 ...) or a vendor is skipped.
def policy_xml(policy, spelling):
    base = policy.get("base", "none")
    if base not in ("host", "none"):
        skip("libvirt %s has no counterpart for \"base\": \"%s\"" % (libvirt_version(), base))
    if policy.get("vendor"):
        skip("a <vendor> needs a <model> in libvirt's CPU XML: \"vendor\" is not compared")
    features = dict(policy.get("features", {}))
    if policy.get("apic") == "x2apic" and "x2apic" not in features:
        features["x2apic"] = "require"
    lines = ["<cpu mode='host-model'>"]
    for name, rule in features.items():
        lines.append("  <feature policy='%s' name='%s'/>" % (rule, spelling.get(name, name)))
    lines.append("</cpu>")
    return "\n".join(lines), features


def libvirt_version(conn=None):
    v = conn.getLibVersion() if conn else libvirt.getVersion()
    return "%d.%d.%d" % (v // 1000000, v // 1000 % 1000, v % 1000)


def percentiles(times):
    times = sorted(times)
    return times[len(times) // 2], times[len(times) * 99 // 100]


def us(ns):
    return "%.1f" % (ns / 1000)


def main():
    ap = argparse.ArgumentParser(description="hvcapd's Policy.Validate against libvirt's "
                                 "virConnectCompareHypervisorCPU, same policy, same host")
    ap.add_argument("socket", help="hvcapd's Varlink socket")
    ap.add_argument("call_file", help="an io.hvcap.Policy.Validate call (bench/validate-call.json)")
    ap.add_argument("count", type=int, help="timed hvcap calls")
    ap.add_argument("libvirt_count", type=int, nargs="?", help="timed libvirt calls (default: COUNT)")
    ap.add_argument("--uri", default="qemu:///system", help="libvirt connection (default: %(default)s)")
    ap.add_argument("--virttype", choices=("kvm", "qemu"),
                    help="libvirt's virttype (default: kvm, else qemu)")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default: %(default)s)")
    ap.add_argument("--varlink-rtt", metavar="PATH", help="also time the C client (bench/varlink-rtt)")
    ap.add_argument("--show-xml", action="store_true", help="print libvirt's CPU XML")
    args = ap.parse_args()
    if args.count < 1 or (args.libvirt_count is not None and args.libvirt_count < 1):
        ap.error("counts must be at least 1")
    lv_count = args.libvirt_count or args.count
    rounds = max(1, min(args.rounds, args.count, lv_count))

    with open(args.call_file) as f:
        call = json.load(f)
    policy = call["parameters"]["policy"]
    message = frame(call["method"], call["parameters"])

    hv = Hvcapd(args.socket)
    spelling = {}
    for f in hv.call("io.hvcap.Host.GetCapabilities", {"all": True})["features"]:
        if f.get("qemu"):
            spelling[f["name"]] = f["qemu"]
    xml, features = policy_xml(policy, spelling)

    # libvirt prints every error on stderr by itself: they are reported here.
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    try:
        conn = libvirt.open(args.uri)
    except libvirt.libvirtError as e:
        skip("no libvirt connection to %s: %s" % (args.uri, e))

    # The answer, and why when incompatible (the flag makes libvirt say
    # which features are missing; the timed calls go without it).
    def compare(virttype, cpu_xml):
        try:
            r = conn.compareHypervisorCPU(None, "x86_64", None, virttype, cpu_xml,
                                          libvirt.VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE)
            return RESULTS.get(r, str(r)), ""
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_CPU_INCOMPATIBLE:
                return "incompatible", e.get_error_message().split(": ", 1)[-1]
            raise

    errors = []
    for virttype in [args.virttype] if args.virttype else ["kvm", "qemu"]:
        try:
            lv_answer, lv_why = compare(virttype, xml)
            break
        except libvirt.libvirtError as e:
            errors.append("virttype %s: %s" % (virttype, e))
    else:
        skip("virConnectCompareHypervisorCPU fails on %s (libvirt %s): %s" %
             (args.uri, libvirt_version(conn), "; ".join(errors)))

    hv_reply = hv.call(call["method"], call["parameters"])
    hv_verdict = hv_reply["verdict"]

    counts = {}
    for rule in features.values():
        counts[rule] = counts.get(rule, 0) + 1
    qv = conn.getVersion()
    print("libvirt %s, QEMU %d.%d.%d, %s, virttype %s%s; policy %s: base %s, %d features (%s) as "
          "<cpu mode='host-model'> with %d <feature> of the same policies" %
          (libvirt_version(conn), qv // 1000000, qv // 1000 % 1000, qv % 1000, args.uri, virttype,
           " (TCG, QEMU's own CPU, not KVM's%s)" % (": " + "; ".join(errors) if errors else "")
           if virttype == "qemu" else "",
           policy.get("name", "-"), policy.get("base", "none"), len(features),
           ", ".join("%d %s" % (n, r) for r, n in counts.items()), len(features)))
    if args.show_xml:
        print(xml)

    # The timed calls, in rounds: hvcap, libvirt, hvcap, ...; each round
    # warms up with a tenth of its calls, plus 10, as varlink-rtt does.
    # hvcapd's reply is read whole but not parsed (varlink-rtt does not
    # parse it either); libvirt's binding returns an int its C library
    # decoded.
    hv_times, lv_times = [], []
    clock = time.perf_counter_ns
    for r in range(rounds):
        n = args.count // rounds + (r < args.count % rounds)
        for i in range(-(n // 10) - 10, n):
            t0 = clock()
            hv.raw(message)
            t1 = clock()
            if i >= 0:
                hv_times.append(t1 - t0)
        n = lv_count // rounds + (r < lv_count % rounds)
        for i in range(-(n // 10) - 10, n):
            t0 = clock()
            conn.compareHypervisorCPU(None, "x86_64", None, virttype, xml, 0)
            t1 = clock()
            if i >= 0:
                lv_times.append(t1 - t0)

    hv50, hv99 = percentiles(hv_times)
    lv50, lv99 = percentiles(lv_times)
    print("hvcap   Policy.Validate, Python client   p50 %8s us  p99 %8s us  (%d calls): %s" %
          (us(hv50), us(hv99), len(hv_times), hv_verdict))
    c50 = None
    if args.varlink_rtt:
        out = subprocess.run([args.varlink_rtt, "latency", args.socket, args.call_file, str(args.count)],
                             check=True, capture_output=True, text=True).stdout
        fields = dict(kv.split("=", 1) for kv in out.split())
        c50, c99 = float(fields["p50_ns"]), float(fields["p99_ns"])
        print("hvcap   Policy.Validate, C (varlink-rtt) p50 %8s us  p99 %8s us  (%d calls)" %
              (us(c50), us(c99), args.count))
    print("libvirt compareHypervisorCPU, Python     p50 %8s us  p99 %8s us  (%d calls): %s" %
          (us(lv50), us(lv99), len(lv_times), lv_answer))
    print("ratio libvirt / hvcap: p50 %.2fx  p99 %.2fx (Python clients)%s; target >= 50x" %
          (lv50 / hv50, lv99 / hv99, "; p50 %.2fx against the C client" % (lv50 / c50) if c50 else ""))

    def agree(verdict, answer):
        return "agree" if (verdict == "accepted") == (answer != "incompatible") else "DISAGREE"

    print("answers: hvcap %s, libvirt %s%s: %s" %
          (hv_verdict, lv_answer, " (%s)" % lv_why if lv_why else "", agree(hv_verdict, lv_answer)))

    # The same policy with its optional features required: where KVM lacks
    # one, both should say no, and name the same features.
    optional = [name for name, rule in features.items() if rule == "optional"]
    if optional:
        strict = dict(policy, features={**features, **{name: "require" for name in optional}})
        params = dict(call["parameters"], policy=strict, names="qemu")
        r = hv.call(call["method"], params)
        problems = ", ".join(p["feature"] for p in r["problems"])
        answer, why = compare(virttype, policy_xml(strict, spelling)[0])
        print("with the %d optional features required: hvcap %s%s, libvirt %s%s: %s" %
              (len(optional), r["verdict"], " (%s)" % problems if problems else "", answer,
               " (%s)" % why if why else "", agree(r["verdict"], answer)))
    conn.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except libvirt.libvirtError as e:
        skip("virConnectCompareHypervisorCPU failed: %s" % e)
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        print("libvirt-compare.py: %s" % e, file=sys.stderr)
        sys.exit(1)
