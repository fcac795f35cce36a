/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Presentation helpers shared by hvctl's commands. */

#include <errno.h>
#include <string.h>

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
