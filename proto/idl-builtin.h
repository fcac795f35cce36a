/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The interface files embedded at build time: proto/embed-idl.awk writes
 * proto/idl-builtin.c from the proto/varlink/ files (proto/local.mk), in
 * the order proto/local.mk lists them.  Internal to proto/.
 */

#include <stddef.h>

struct proto_idl_source {
	const char *file;	/* "io.hvcap.Vm.varlink" */
	const char *text;	/* the file, byte for byte */
};

extern const struct proto_idl_source proto_idl_sources[];
extern const size_t proto_idl_source_count;
