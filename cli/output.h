/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Presentation helpers shared by hvctl's commands. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>
#include <libcaps/caps.h>

#include <libcaps/dump.h>

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

/* The words in CPUID order (function, index, register), MSR words last. */
void hvctl_words_by_leaf(int ret[NR_CAPS_WORDS]);

/* Print the named features of c, one wrapped line per word, in leaf order. */
void hvctl_print_features(const struct caps *c, enum caps_names names);

/*
 * Report a failed caps_dump_read_file() of path for "hvctl GROUP NAME":
 * with the line and column, or the offset, or the I/O error.  Returns
 * HVCTL_EXIT_FAILURE.
 */
int hvctl_dump_error(const char *who, const char *path, int r, const struct caps_dump_error *err);

/*
 * Print a JSON value pretty to stdout, with a final newline.  Returns 0 or
 * -ENOMEM (json-c could not serialize it).
 */
int hvctl_json_print(struct json_object *o);

/* "0x%08x" as a string: the form DESIGN.md gives 64-bit values ("0x…"). */
struct json_object *hvctl_json_hex64(unsigned long long v);

/* A HostRecord's level in words: "x86-64-v3", or "none (not even x86-64-v1)". */
const char *hvctl_level_string(long long level);
/* A HostRecord's avic and x2avic in words: "off", "on, with x2AVIC", ... */
const char *hvctl_avic_string(bool avic, bool x2avic);
