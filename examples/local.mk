# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Example policies and the control-plane client, installed as documentation
# ($(docdir)/examples): the policies for hvctl policy check and vm create,
# control/ to build against the installed libhvcap with pkg-config.

examplesdir = $(docdir)/examples
dist_examples_DATA = \
	examples/README.md \
	examples/host-passthrough.json \
	examples/intel-lam.json \
	examples/large-x2apic.json \
	examples/web-tier-amd.json \
	examples/x86-64-v3.json

examplescontroldir = $(examplesdir)/control
dist_examplescontrol_DATA = \
	examples/control/Makefile \
	examples/control/query.c
