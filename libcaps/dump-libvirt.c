/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt's cputestdata XML (tests/cputestdata/x86_64-cpuid-<CPU>.xml):
 *
 *   <!-- Intel(R) Xeon(R) 6788P -->
 *   <cpudata arch='x86'>
 *     <cpuid eax_in='0x00000007' ecx_in='0x00' eax='0x...' ebx='0x...' ecx='0x...' edx='0x...'/>
 *     <msr index='0x10a' edx='0x00000000' eax='0x0c000069'/>
 *   </cpudata>
 *
 * expat does the XML; the handlers here hold every element to that
 * schema.  The files carry no DTD, so a DOCTYPE or entity declaration
 * is refused outright rather than expanded (billion laughs).
 */

#include <errno.h>
#include <expat.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump-internal.h"

struct libvirt_reader {
	XML_Parser xml;
	struct caps_dump *dump;
	struct caps_dump_error *err;
	int error;		/* first error a handler raised, or 0 */
	unsigned depth;		/* elements open */
	bool comment_seen;
};

/* The attributes of one element kind, all required. */
struct libvirt_element {
	const char *name;
	const char *const *attrs;
	size_t nattrs;
};

static const char *const cpuid_attrs[] = { "eax_in", "ecx_in", "eax", "ebx", "ecx", "edx" };
enum { CPUID_EAX_IN, CPUID_ECX_IN, CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

static const char *const msr_attrs[] = { "index", "eax", "edx" };
enum { MSR_INDEX, MSR_EAX, MSR_EDX };

static const struct libvirt_element cpuid_element = {
	"cpuid", cpuid_attrs, sizeof(cpuid_attrs) / sizeof(cpuid_attrs[0]),
};
static const struct libvirt_element msr_element = {
	"msr", msr_attrs, sizeof(msr_attrs) / sizeof(msr_attrs[0]),
};

#define LIBVIRT_MAX_ATTRS 6

/* Record the first error at expat's current position and stop the parse. */
static void reader_fail(struct libvirt_reader *rd, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reader_fail(struct libvirt_reader *rd, int error, const char *fmt, ...)
{
	char msg[sizeof(rd->err->message)];
	va_list ap;

	if (rd->error)
		return;
	rd->error = error;
	if (rd->err) {
		XML_Index at = XML_GetCurrentByteIndex(rd->xml);

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		caps_dump_error_set(rd->err, (unsigned)XML_GetCurrentLineNumber(rd->xml),
				    (unsigned)XML_GetCurrentColumnNumber(rd->xml) + 1,
				    at < 0 ? 0 : (size_t)at, "%s", msg);
	}
	XML_StopParser(rd->xml, XML_FALSE);
}

/*
 * Read the attributes of el into values[], in el->attrs order: each
 * exactly once, none other, each a 0x-prefixed hex number of 32 bits.
 */
static int read_attrs(struct libvirt_reader *rd, const struct libvirt_element *el,
		      const XML_Char **atts, uint32_t values[])
{
	bool seen[LIBVIRT_MAX_ATTRS] = { false };
	char q[64];

	for (size_t i = 0; atts[i]; i += 2) {
		const char *name = atts[i], *value = atts[i + 1];
		uint64_t v;
		size_t a;
		int r;

		for (a = 0; a < el->nattrs; a++)
			if (strcmp(name, el->attrs[a]) == 0)
				break;
		if (a == el->nattrs) {
			reader_fail(rd, -EINVAL, "<%s>: unknown attribute '%s'", el->name,
				    caps_dump_sanitize(q, sizeof(q), name, strlen(name)));
			return -EINVAL;
		}
		/* expat already refuses duplicate attributes; keep the rule local too. */
		if (seen[a]) {
			reader_fail(rd, -EINVAL, "<%s>: duplicate attribute '%s'", el->name, name);
			return -EINVAL;
		}
		seen[a] = true;
		r = caps_dump_parse_hex(value, strlen(value), UINT32_MAX, &v);
		if (r < 0) {
			reader_fail(rd, -EINVAL, "<%s>: %s='%s': %s", el->name, name,
				    caps_dump_sanitize(q, sizeof(q), value, strlen(value)),
				    r == -ERANGE ? "value does not fit in 32 bits"
						 : "expected a 0x-prefixed hex number");
			return -EINVAL;
		}
		values[a] = (uint32_t)v;
	}
	for (size_t a = 0; a < el->nattrs; a++) {
		if (!seen[a]) {
			reader_fail(rd, -EINVAL, "<%s>: missing attribute '%s'", el->name, el->attrs[a]);
			return -EINVAL;
		}
	}
	return 0;
}

static void read_cpuid(struct libvirt_reader *rd, const XML_Char **atts)
{
	uint32_t v[LIBVIRT_MAX_ATTRS];
	struct caps_cpuid_entry e;
	const char *why;
	int r;

	if (read_attrs(rd, &cpuid_element, atts, v) < 0)
		return;
	e = (struct caps_cpuid_entry) {
		.function = v[CPUID_EAX_IN], .index = v[CPUID_ECX_IN],
		.eax = v[CPUID_EAX], .ebx = v[CPUID_EBX], .ecx = v[CPUID_ECX], .edx = v[CPUID_EDX],
	};
	r = caps_dump_add_cpuid(rd->dump, &e, &why);
	if (r < 0)
		reader_fail(rd, r, "<cpuid eax_in='0x%08x' ecx_in='0x%02x'>: %s",
			    e.function, e.index, why);
}

static void read_msr(struct libvirt_reader *rd, const XML_Char **atts)
{
	uint32_t v[LIBVIRT_MAX_ATTRS];
	const char *why;
	int r;

	if (read_attrs(rd, &msr_element, atts, v) < 0)
		return;
	r = caps_dump_add_msr(rd->dump, v[MSR_INDEX],
			      (uint64_t)v[MSR_EDX] << 32 | v[MSR_EAX], &why);
	if (r < 0)
		reader_fail(rd, r, "<msr index='0x%x'>: %s", v[MSR_INDEX], why);
}

static void read_root(struct libvirt_reader *rd, const XML_Char *name, const XML_Char **atts)
{
	bool arch_seen = false;
	char q[64];

	if (strcmp(name, "cpudata") != 0) {
		reader_fail(rd, -EINVAL, "root element is <%s>, expected <cpudata>",
			    caps_dump_sanitize(q, sizeof(q), name, strlen(name)));
		return;
	}
	for (size_t i = 0; atts[i]; i += 2) {
		if (strcmp(atts[i], "arch") != 0) {
			reader_fail(rd, -EINVAL, "<cpudata>: unknown attribute '%s'",
				    caps_dump_sanitize(q, sizeof(q), atts[i], strlen(atts[i])));
			return;
		}
		if (strcmp(atts[i + 1], "x86") != 0) {
			reader_fail(rd, -EINVAL, "<cpudata>: arch='%s', expected 'x86'",
				    caps_dump_sanitize(q, sizeof(q), atts[i + 1], strlen(atts[i + 1])));
			return;
		}
		arch_seen = true;
	}
	if (!arch_seen)
		reader_fail(rd, -EINVAL, "<cpudata>: missing attribute 'arch'");
}

static void XMLCALL start_element_cb(void *data, const XML_Char *name, const XML_Char **atts)
{
	struct libvirt_reader *rd = data;
	char q[64];

	if (rd->error)
		return;
	rd->depth++;
	if (rd->depth == 1)
		read_root(rd, name, atts);
	else if (rd->depth > 2)
		reader_fail(rd, -EINVAL, "<%s>: <cpuid> and <msr> take no content",
			    caps_dump_sanitize(q, sizeof(q), name, strlen(name)));
	else if (strcmp(name, "cpuid") == 0)
		read_cpuid(rd, atts);
	else if (strcmp(name, "msr") == 0)
		read_msr(rd, atts);
	else
		reader_fail(rd, -EINVAL, "unknown element <%s> (expected <cpuid> or <msr>)",
			    caps_dump_sanitize(q, sizeof(q), name, strlen(name)));
}

static void XMLCALL end_element_cb(void *data, const XML_Char *name)
{
	struct libvirt_reader *rd = data;

	if (rd->depth > 0)
		rd->depth--;
}

static bool is_xml_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void XMLCALL character_data_cb(void *data, const XML_Char *s, int len)
{
	struct libvirt_reader *rd = data;

	if (rd->error)
		return;
	for (int i = 0; i < len; i++) {
		if (!is_xml_blank(s[i])) {
			reader_fail(rd, -EINVAL, "unexpected text (elements carry their data in attributes)");
			return;
		}
	}
}

/*
 * Keep the first comment, libvirt's CPU model name: blanks turned into
 * spaces, trimmed, and cut to fit at a character boundary.  expat has
 * checked that it is UTF-8 without forbidden characters.
 */
static void XMLCALL comment_cb(void *data, const XML_Char *text)
{
	struct libvirt_reader *rd = data;
	char *comment = rd->dump->comment;
	size_t start = 0, n = strlen(text), max = sizeof(rd->dump->comment) - 1;

	if (rd->error || rd->comment_seen)
		return;
	rd->comment_seen = true;
	while (start < n && is_xml_blank(text[start]))
		start++;
	while (n > start && is_xml_blank(text[n - 1]))
		n--;
	text += start;
	n -= start;
	if (n > max) {
		n = max;
		/* Back off to the first byte of a cut multi-byte character. */
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
		while (n > 0 && is_xml_blank(text[n - 1]))
			n--;
	}
	for (size_t i = 0; i < n; i++)
		comment[i] = is_xml_blank(text[i]) ? ' ' : text[i];
	comment[n] = '\0';
	/* XML allows DEL (U+007F), which no dump's comment holds: the writers refuse it. */
	if (!caps_dump_comment_is_valid(comment, n)) {
		comment[0] = '\0';
		reader_fail(rd, -EINVAL, "comment: expected text without control characters");
	}
}

static void XMLCALL doctype_cb(void *data, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	reader_fail(data, -EINVAL, "DOCTYPE declarations are not allowed (libvirt dumps have no DTD)");
}

static void XMLCALL entity_decl_cb(void *data, const XML_Char *name, int is_parameter_entity,
				   const XML_Char *value, int value_length, const XML_Char *base,
				   const XML_Char *system_id, const XML_Char *public_id,
				   const XML_Char *notation_name)
{
	reader_fail(data, -EINVAL, "entity declarations are not allowed");
}

static void XMLCALL processing_instruction_cb(void *data, const XML_Char *target,
					      const XML_Char *pi_data)
{
	reader_fail(data, -EINVAL, "processing instructions are not allowed");
}

static void XMLCALL cdata_cb(void *data)
{
	reader_fail(data, -EINVAL, "CDATA sections are not allowed");
}

int caps_dump_parse_libvirt(const char *buf, size_t len, struct caps_dump *ret,
			    struct caps_dump_error *err)
{
	struct libvirt_reader rd = { .err = err };
	enum XML_Status status;
	int r;

	/* XML_Parse() takes an int; callers cap dumps far below that. */
	if (len > CAPS_DUMP_MAX_BYTES)
		return caps_dump_error_set(err, 0, 0, 0, "dump is larger than %d bytes",
					   CAPS_DUMP_MAX_BYTES);
	rd.dump = malloc(sizeof(*rd.dump));
	if (!rd.dump)
		return -ENOMEM;
	caps_dump_init(rd.dump);
	rd.xml = XML_ParserCreate(NULL);
	if (!rd.xml) {
		free(rd.dump);
		return -ENOMEM;
	}
	XML_SetUserData(rd.xml, &rd);
	XML_SetElementHandler(rd.xml, start_element_cb, end_element_cb);
	XML_SetCharacterDataHandler(rd.xml, character_data_cb);
	XML_SetCommentHandler(rd.xml, comment_cb);
	XML_SetStartDoctypeDeclHandler(rd.xml, doctype_cb);
	XML_SetEntityDeclHandler(rd.xml, entity_decl_cb);
	XML_SetProcessingInstructionHandler(rd.xml, processing_instruction_cb);
	XML_SetStartCdataSectionHandler(rd.xml, cdata_cb);
	XML_SetParamEntityParsing(rd.xml, XML_PARAM_ENTITY_PARSING_NEVER);

	/* One final call: expat reports a truncated document there. */
	status = XML_Parse(rd.xml, buf, (int)len, XML_TRUE);
	if (rd.error) {
		r = rd.error;
	} else if (status != XML_STATUS_OK) {
		enum XML_Error code = XML_GetErrorCode(rd.xml);
		XML_Index at = XML_GetCurrentByteIndex(rd.xml);

		r = caps_dump_error_set(err, (unsigned)XML_GetCurrentLineNumber(rd.xml),
					(unsigned)XML_GetCurrentColumnNumber(rd.xml) + 1,
					at < 0 ? len : (size_t)at, "XML syntax error: %s",
					XML_ErrorString(code));
	} else if (rd.dump->cpuid.nent == 0) {
		r = caps_dump_error_set(err, 0, 0, len, "no <cpuid> entries");
	} else {
		caps_cpuid_mark_indexed(&rd.dump->cpuid);
		*ret = *rd.dump;
		r = 0;
	}
	XML_ParserFree(rd.xml);
	free(rd.dump);
	return r;
}

/*
 * Write a comment XML can carry: "--" may not appear in one, so a space
 * goes between two dashes.  Everything else in a valid comment is legal.
 */
static void write_comment(FILE *f, const char *comment)
{
	fputs("<!-- ", f);
	for (const char *c = comment; *c; c++) {
		if (*c == '-' && c > comment && c[-1] == '-')
			fputc(' ', f);
		fputc(*c, f);
	}
	fputs(" -->\n", f);
}

static void emit_libvirt(const struct caps_dump *d, FILE *f)
{
	if (d->comment[0])
		write_comment(f, d->comment);
	fputs("<cpudata arch='x86'>\n", f);
	for (size_t i = 0; i < d->cpuid.nent; i++) {
		const struct caps_cpuid_entry *e = &d->cpuid.entries[i];

		fprintf(f, "  <cpuid eax_in='0x%08x' ecx_in='0x%02x' eax='0x%08x' ebx='0x%08x' ecx='0x%08x' edx='0x%08x'/>\n",
			e->function, e->index, e->eax, e->ebx, e->ecx, e->edx);
	}
	/* libvirt's order: the high half (edx) first. */
	for (size_t i = 0; i < d->msrs.n; i++) {
		const struct caps_msr *m = &d->msrs.msrs[i];

		fprintf(f, "  <msr index='0x%x' edx='0x%08x' eax='0x%08x'/>\n",
			m->index, (uint32_t)(m->value >> 32), (uint32_t)m->value);
	}
	fputs("</cpudata>\n", f);
}

int caps_dump_write_libvirt(const struct caps_dump *d, char **ret)
{
	return caps_dump_write_stream(d, emit_libvirt, ret);
}
