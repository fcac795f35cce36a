/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Presentation helpers shared by hvctl's commands. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hvctl.h"
#include "output.h"

const char *hvctl_word_label(enum caps_word word, char *buf, size_t size)
{
	const struct caps_word_info *wi = caps_word_info(word);

	if (!wi)
		snprintf(buf, size, "word %d", (int)word);
	else if (wi->kind == CAPS_WORD_MSR)
		snprintf(buf, size, "MSR 0x%x[%s]", wi->msr, wi->msr_high ? "63:32" : "31:0");
	else {
		char reg[4];

		for (int i = 0; i < 3; i++)
			reg[i] = (char)(caps_reg_name(wi->reg)[i] - 'a' + 'A');
		reg[3] = '\0';
		snprintf(buf, size, "CPUID 0x%x.%u %s", wi->function, wi->index, reg);
	}
	return buf;
}

static int word_cmp(const void *a, const void *b)
{
	const struct caps_word_info *x = caps_word_info(*(const int *)a);
	const struct caps_word_info *y = caps_word_info(*(const int *)b);
	uint64_t kx, ky;

	if ((x->kind == CAPS_WORD_MSR) != (y->kind == CAPS_WORD_MSR))
		return x->kind == CAPS_WORD_MSR ? 1 : -1;
	if (x->kind == CAPS_WORD_MSR) {
		kx = (uint64_t)x->msr << 1 | x->msr_high;
		ky = (uint64_t)y->msr << 1 | y->msr_high;
	} else {
		kx = (uint64_t)x->function << 32 | x->index << 2 | x->reg;
		ky = (uint64_t)y->function << 32 | y->index << 2 | y->reg;
	}
	return kx < ky ? -1 : kx > ky;
}

void hvctl_words_by_leaf(int ret[NR_CAPS_WORDS])
{
	for (int w = 0; w < NR_CAPS_WORDS; w++)
		ret[w] = w;
	qsort(ret, NR_CAPS_WORDS, sizeof(ret[0]), word_cmp);
}

void hvctl_print_features(const struct caps *c, enum caps_names names)
{
	int words[NR_CAPS_WORDS];
	char label[48];

	hvctl_words_by_leaf(words);
	for (int i = 0; i < NR_CAPS_WORDS; i++) {
		struct hvctl_wrap wrap;
		bool any = false;

		for (int bit = 0; bit < 32; bit++) {
			int f = words[i] * 32 + bit;
			const char *name = caps_feature_name(f, names);

			if (!name || !caps_has(c, f))
				continue;
			if (!any) {
				printf("  %-22s ", hvctl_word_label((enum caps_word)words[i], label, sizeof(label)));
				hvctl_wrap_start(&wrap, stdout, 25, 25);
				any = true;
			}
			hvctl_wrap_word(&wrap, name);
		}
		if (any)
			hvctl_wrap_end(&wrap);
	}
}

int hvctl_dump_error(const char *who, const char *path, int r, const struct caps_dump_error *err)
{
	if (err->line)
		fprintf(stderr, "%s: %s:%u:%u: %s\n", who, path, err->line, err->column, err->message);
	else if (r == -EINVAL)
		fprintf(stderr, "%s: %s: offset %zu: %s\n", who, path, err->offset, err->message);
	else
		fprintf(stderr, "%s: %s\n", who, err->message[0] ? err->message : strerror(-r));
	return HVCTL_EXIT_FAILURE;
}

#define WRAP_COLUMNS 78

void hvctl_wrap_start(struct hvctl_wrap *w, FILE *f, unsigned indent, unsigned col)
{
	*w = (struct hvctl_wrap) { .f = f, .indent = indent, .col = col };
}

void hvctl_wrap_word(struct hvctl_wrap *w, const char *word)
{
	size_t len = strlen(word);

	if (w->col > w->indent && w->col + 1 + len > WRAP_COLUMNS) {
		fprintf(w->f, "\n%*s", (int)w->indent, "");
		w->col = w->indent;
	}
	if (w->col > w->indent) {
		fputc(' ', w->f);
		w->col++;
	}
	fputs(word, w->f);
	w->col += (unsigned)len;
}

void hvctl_wrap_end(struct hvctl_wrap *w)
{
	fputc('\n', w->f);
	w->col = 0;
}

int hvctl_json_print(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!s)
		return -ENOMEM;
	puts(s);
	return 0;
}

struct json_object *hvctl_json_hex64(unsigned long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%016llx", v);
	return json_object_new_string(buf);
}

const char *hvctl_level_string(long long level)
{
	static const char *const names[] = {
		"none (not even x86-64-v1)", "x86-64-v1", "x86-64-v2", "x86-64-v3", "x86-64-v4",
	};

	return level >= 0 && level < (long long)(sizeof(names) / sizeof(names[0])) ? names[level] : "?";
}

const char *hvctl_avic_string(bool avic, bool x2avic)
{
	if (!avic)
		return "off";
	return x2avic ? "on, with x2AVIC" : "on, xAVIC only (hybrid AVIC)";
}
