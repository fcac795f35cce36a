/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Presentation helpers shared by hvctl's commands. */

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>
#include <libcaps/caps.h>

/* "CPUID 0x7.0 EBX" or "MSR 0x10a[31:0]". */
const char *hvctl_word_label(enum caps_word word, char *buf, size_t size);

/* Print words separated by blanks, wrapped at 78 columns with indent. */
struct hvctl_wrap {
	FILE *f;
	unsigned indent;
	unsigned col;
};

void hvctl_wrap_start(struct hvctl_wrap *w, FILE *f, unsigned indent, unsigned col);
void hvctl_wrap_word(struct hvctl_wrap *w, const char *word);
void hvctl_wrap_end(struct hvctl_wrap *w);

/*
 * Print a JSON value pretty to stdout, with a final newline.  Returns 0 or
 * -ENOMEM (json-c could not serialize it).
 */
int hvctl_json_print(struct json_object *o);

/* "0x%08x" as a string: the form DESIGN.md gives 64-bit values ("0x…"). */
struct json_object *hvctl_json_hex64(unsigned long long v);
