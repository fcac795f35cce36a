/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The raw output of the `cpuid` tool (http://www.etallen.com/cpuid.html):
 *
 *   CPU:                       ("CPU 0:" without -1)
 *      0x00000007 0x00: eax=0x00000000 ebx=0x... ecx=0x... edx=0x...
 *
 * Only the first CPU's block is read: the next "CPU n:" header ends the
 * dump and nothing after it is looked at.  Input without any header is
 * one CPU's block.  Blank lines are ignored and CRLF line ends are
 * accepted; every other line is a header or a leaf line with its fields
 * in that order, hex values of at most 32 bits (sub-leaf at most 0xff)
 * and nothing after edx but blanks.  Every line, the last included, must
 * end in a newline: a dump cut inside a line fails, a dump cut between
 * lines is a shorter dump, like the tool's own output interrupted.
 * Entries face the checks of every format (caps_dump_add_cpuid()).
 *
 * The format has no place for a comment or MSRs; the writer drops them.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump-internal.h"

/* One line, and where it starts in the input, for error positions. */
struct cpuid_r_line {
	const char *start;	/* first byte of the line */
	const char *p;		/* cursor */
	const char *end;	/* end of content: before "\r\n" or "\n" */
	unsigned number;	/* 1-based */
	size_t offset;		/* of start in the input */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void skip_blanks(struct cpuid_r_line *l)
{
	while (l->p < l->end && is_blank(*l->p))
		l->p++;
}

static int line_error(struct caps_dump_error *err, const struct cpuid_r_line *l,
		      const char *what)
{
	size_t col = (size_t)(l->p - l->start);

	return caps_dump_error_set(err, l->number, (unsigned)col + 1, l->offset + col, "%s", what);
}

/* Consume the literal s at the cursor. */
static bool accept(struct cpuid_r_line *l, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(l->end - l->p) < n || memcmp(l->p, s, n) != 0)
		return false;
	l->p += n;
	return true;
}

/* Consume "0x" and hex digits; -EINVAL or -ERANGE leave the cursor on them. */
static int accept_hex(struct cpuid_r_line *l, uint64_t max, uint64_t *ret)
{
	const char *q = l->p;
	int r;

	if (l->end - q >= 2 && q[0] == '0' && q[1] == 'x')
		q += 2;
	while (q < l->end && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
			      (*q >= 'A' && *q <= 'F')))
		q++;
	r = caps_dump_parse_hex(l->p, (size_t)(q - l->p), max, ret);
	if (r == 0)
		l->p = q;
	return r;
}

/* "CPU:" or "CPU <decimal>:", then blanks only. */
static bool is_header(struct cpuid_r_line *l)
{
	struct cpuid_r_line h = *l;

	if (!accept(&h, "CPU"))
		return false;
	if (accept(&h, " ")) {
		const char *digits = h.p;

		while (h.p < h.end && *h.p >= '0' && *h.p <= '9')
			h.p++;
		if (h.p == digits)
			return false;
	}
	if (!accept(&h, ":"))
		return false;
	skip_blanks(&h);
	return h.p == h.end;
}

/* "0xFUNCTION 0xSUBLEAF: eax=0x... ebx=0x... ecx=0x... edx=0x...". */
static int read_leaf(struct cpuid_r_line *l, struct caps_cpuid_entry *ret,
		     struct caps_dump_error *err)
{
	static const char *const regs[] = { "eax=", "ebx=", "ecx=", "edx=" };
	struct caps_cpuid_entry e = { 0 };
	uint64_t v;
	int r;

	r = accept_hex(l, UINT32_MAX, &v);
	if (r < 0)
		return line_error(err, l, r == -ERANGE ? "function does not fit in 32 bits" :
			"unrecognised line: expected a `CPU n:` header or a leaf line "
			"`0xFUNCTION 0xSUBLEAF: eax=0x... ebx=0x... ecx=0x... edx=0x...`");
	e.function = (uint32_t)v;
	if (l->p == l->end || !is_blank(*l->p))
		return line_error(err, l, "expected a blank after the function");
	skip_blanks(l);
	r = accept_hex(l, UINT32_MAX, &v);
	if (r < 0)
		return line_error(err, l, r == -ERANGE ? "sub-leaf does not fit in 32 bits" :
						      "expected the sub-leaf as 0x-prefixed hex");
	e.index = (uint32_t)v;
	if (!accept(l, ":"))
		return line_error(err, l, "expected ':' after the sub-leaf");
	for (int i = 0; i < 4; i++) {
		const char *at = l->p;
		uint32_t *reg = i == 0 ? &e.eax : i == 1 ? &e.ebx : i == 2 ? &e.ecx : &e.edx;
		char msg[64];

		skip_blanks(l);
		if (l->p == at)
			return line_error(err, l, "expected a blank before the next register");
		if (!accept(l, regs[i])) {
			snprintf(msg, sizeof(msg), "expected \"%s\" (registers in the order eax, ebx, ecx, edx)",
				 regs[i]);
			return line_error(err, l, msg);
		}
		r = accept_hex(l, UINT32_MAX, &v);
		if (r < 0) {
			snprintf(msg, sizeof(msg), "%.3s: %s", regs[i],
				 r == -ERANGE ? "value does not fit in 32 bits"
					      : "expected a 0x-prefixed hex number");
			return line_error(err, l, msg);
		}
		*reg = (uint32_t)v;
	}
	skip_blanks(l);
	if (l->p != l->end)
		return line_error(err, l, "unexpected text after edx");
	*ret = e;
	return 0;
}

int caps_dump_parse_cpuid_r(const char *buf, size_t len, struct caps_dump *ret,
			    struct caps_dump_error *err)
{
	struct cpuid_r_line l = { .number = 0 };
	struct caps_dump *d;
	bool header_seen = false;
	size_t pos = 0;
	int r = 0;

	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	caps_dump_init(d);

	/* A UTF-8 byte order mark, as caps_dump_detect() allows. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len && r == 0) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		struct caps_cpuid_entry e;
		const char *why;

		l.start = l.p = buf + pos;
		l.end = nl ? nl : buf + len;
		l.offset = pos;
		l.number++;
		pos = nl ? (size_t)(nl - buf) + 1 : len;
		if (l.end > l.start && l.end[-1] == '\r')
			l.end--;

		skip_blanks(&l);
		if (l.p == l.end) {
			/* Blank lines, and blanks after the last newline. */
			continue;
		}
		if (!nl) {
			r = line_error(err, &l, "last line has no newline: the dump is truncated");
			break;
		}
		if (is_header(&l)) {
			/* The next CPU's block: the first CPU's dump is complete. */
			if (header_seen || d->cpuid.nent > 0)
				break;
			header_seen = true;
			continue;
		}
		r = read_leaf(&l, &e, err);
		if (r < 0)
			break;
		r = caps_dump_add_cpuid(d, &e, &why);
		if (r < 0) {
			char msg[sizeof(err->message)];

			snprintf(msg, sizeof(msg), "leaf 0x%08x sub-leaf 0x%02x: %s",
				 e.function, e.index, why);
			l.p = l.start;
			skip_blanks(&l);
			line_error(err, &l, msg);
		}
	}
	if (r == 0 && d->cpuid.nent == 0)
		r = caps_dump_error_set(err, 0, 0, len, "no CPUID leaf lines");
	if (r == 0) {
		caps_cpuid_mark_indexed(&d->cpuid);
		*ret = *d;
	}
	free(d);
	return r;
}

/* The layout of `cpuid -r -1`. */
static void emit_cpuid_r(const struct caps_dump *d, FILE *f)
{
	fputs("CPU:\n", f);
	for (size_t i = 0; i < d->cpuid.nent; i++) {
		const struct caps_cpuid_entry *e = &d->cpuid.entries[i];

		fprintf(f, "   0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n",
			e->function, e->index, e->eax, e->ebx, e->ecx, e->edx);
	}
}

int caps_dump_write_cpuid_r(const struct caps_dump *d, char **ret)
{
	return caps_dump_write_stream(d, emit_cpuid_r, ret);
}
