/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Varlink interface descriptions (idl.h): a recursive-descent parser of
 * the grammar at varlink.org/Interface-Definition (PEERS.md §4) into a
 * tree of types, and a checker of JSON values against those types.
 *
 * The parser's recursion follows the nesting of inline types, capped at
 * IDL_MAX_NESTING; the checker's follows the JSON value, whose depth the
 * message parser has capped, and is capped again at IDL_CHECK_MAX_DEPTH
 * for values a program built.  Named types resolve to a type member of
 * the same interface (Varlink has no cross-interface references).
 */

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcaps/json-check.h>
#include <proto/idl.h>
#include <proto/varlink.h>

#include "idl-builtin.h"

/* Inline types nested in one declaration: (a: (b: [](c: ...))).  Ours need 3. */
#define IDL_MAX_NESTING		32
/* JSON containers the checker follows; parsed messages stop far earlier. */
#define IDL_CHECK_MAX_DEPTH	(2 * CAPS_JSON_CHECK_MAX_DEPTH)
/* Longest field, enum value or member name: far beyond any real one, and it keeps messages short. */
#define IDL_NAME_MAX		PROTO_VARLINK_NAME_MAX

enum idl_kind {
	IDL_BOOL,
	IDL_INT,
	IDL_FLOAT,
	IDL_STRING,
	IDL_OBJECT,	/* any JSON object */
	IDL_STRUCT,	/* (name: type, ...) */
	IDL_ENUM,	/* (a, b, ...) */
	IDL_ARRAY,	/* []T */
	IDL_MAP,	/* [string]T */
	IDL_NAMED,	/* a type member of the interface */
};

struct idl_type;

struct idl_field {
	char *name;
	struct idl_type *type;
};

enum idl_member_kind {
	IDL_MEMBER_TYPE,
	IDL_MEMBER_METHOD,
	IDL_MEMBER_ERROR,
};

struct idl_member {
	enum idl_member_kind kind;
	char *name;
	unsigned line;
	struct idl_type *type;		/* TYPE: a struct or enum; ERROR: a struct; METHOD: the input */
	struct idl_type *output;	/* METHOD */
};

struct idl_type {
	enum idl_kind kind;
	bool nullable;			/* ?T: absent or null allowed */
	struct idl_type *element;	/* ARRAY, MAP */
	char *name;			/* NAMED */
	unsigned line;			/* NAMED: where it is referenced */
	const struct idl_member *target;	/* NAMED, once resolved */
	struct idl_field *fields;	/* STRUCT */
	size_t n_fields;
	char **values;			/* ENUM */
	size_t n_values;
};

struct proto_idl {
	char *text;
	char *name;
	struct idl_member *members;
	size_t n_members;
	size_t n_methods;
};

/* ---- the tree --------------------------------------------------------- */

static void type_free(struct idl_type *t)
{
	if (!t)
		return;
	type_free(t->element);
	free(t->name);
	for (size_t i = 0; i < t->n_fields; i++) {
		free(t->fields[i].name);
		type_free(t->fields[i].type);
	}
	free(t->fields);
	for (size_t i = 0; i < t->n_values; i++)
		free(t->values[i]);
	free(t->values);
	free(t);
}

void proto_idl_free(struct proto_idl *idl)
{
	if (!idl)
		return;
	for (size_t i = 0; i < idl->n_members; i++) {
		free(idl->members[i].name);
		type_free(idl->members[i].type);
		type_free(idl->members[i].output);
	}
	free(idl->members);
	free(idl->name);
	free(idl->text);
	free(idl);
}

static const struct idl_member *member_find(const struct proto_idl *idl, const char *name)
{
	for (size_t i = 0; i < idl->n_members; i++)
		if (strcmp(idl->members[i].name, name) == 0)
			return &idl->members[i];
	return NULL;
}

/* ---- the parser ------------------------------------------------------- */

struct idl_parser {
	const char *s;
	size_t pos;
	unsigned line;
	size_t line_start;	/* offset of the current line's first byte */
	unsigned nesting;
	struct proto_error *err;
	int r;			/* the first failure: -EINVAL or -ENOMEM */
};

/* Fail at the current position, naming its line and column. */
static int syntax_error(struct idl_parser *p, const char *what)
{
	if (p->r == 0) {
		p->r = -EINVAL;
		proto_error_set(p->err, "", "line %u, column %zu: %s", p->line,
				p->pos - p->line_start + 1, what);
	}
	return p->r;
}

static int no_memory(struct idl_parser *p)
{
	if (p->r == 0)
		p->r = -ENOMEM;
	return p->r;
}

/* Whitespace and comments ("#" to the end of the line) between tokens. */
static void skip_blank(struct idl_parser *p)
{
	for (;;) {
		char c = p->s[p->pos];

		if (c == ' ' || c == '\t' || c == '\r') {
			p->pos++;
		} else if (c == '\n') {
			p->pos++;
			p->line++;
			p->line_start = p->pos;
		} else if (c == '#') {
			while (p->s[p->pos] && p->s[p->pos] != '\n')
				p->pos++;
		} else {
			return;
		}
	}
}

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The word at the current position (maybe empty), as a new string; extra: more characters it may hold. */
static char *read_word(struct idl_parser *p, const char *extra)
{
	size_t start = p->pos, n;
	char *w;

	while (is_word_char(p->s[p->pos]) || (p->s[p->pos] && extra && strchr(extra, p->s[p->pos])))
		p->pos++;
	n = p->pos - start;
	if (n > IDL_NAME_MAX) {
		p->pos = start;
		syntax_error(p, "name too long");
		return NULL;
	}
	w = strndup(p->s + start, n);
	if (!w)
		no_memory(p);
	return w;
}

/* Whether the word at the current position is kw; if so, step over it. */
static bool accept_keyword(struct idl_parser *p, const char *kw)
{
	size_t n = strlen(kw);

	if (strncmp(p->s + p->pos, kw, n) != 0 || is_word_char(p->s[p->pos + n]))
		return false;
	p->pos += n;
	return true;
}

static int expect_char(struct idl_parser *p, char c, const char *what)
{
	skip_blank(p);
	if (p->s[p->pos] != c)
		return syntax_error(p, what);
	p->pos++;
	return 0;
}

/* [A-Za-z](_?[A-Za-z0-9])*: fields and enum values. */
static bool field_name_is_valid(const char *s)
{
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; s[i]; i++) {
		if (s[i] == '_' && (s[i + 1] == '_' || s[i + 1] == '\0'))
			return false;
		if (!is_word_char(s[i]))
			return false;
	}
	return true;
}

static struct idl_type *type_new(struct idl_parser *p, enum idl_kind kind)
{
	struct idl_type *t = calloc(1, sizeof(*t));

	if (!t) {
		no_memory(p);
		return NULL;
	}
	t->kind = kind;
	return t;
}

static struct idl_type *parse_type(struct idl_parser *p);

/* A field or enum value name at the current position. */
static char *parse_field_name(struct idl_parser *p, const char *what)
{
	char *name;

	skip_blank(p);
	name = read_word(p, NULL);
	if (!name)
		return NULL;
	if (!field_name_is_valid(name)) {
		free(name);
		syntax_error(p, what);
		return NULL;
	}
	return name;
}

static int add_field(struct idl_parser *p, struct idl_type *t, char *name, struct idl_type *type,
		     size_t at)
{
	struct idl_field *fields;

	for (size_t i = 0; i < t->n_fields; i++) {
		if (strcmp(t->fields[i].name, name) == 0) {
			p->pos = at;
			free(name);
			type_free(type);
			return syntax_error(p, "duplicate field name");
		}
	}
	fields = realloc(t->fields, (t->n_fields + 1) * sizeof(*fields));
	if (!fields) {
		free(name);
		type_free(type);
		return no_memory(p);
	}
	t->fields = fields;
	t->fields[t->n_fields++] = (struct idl_field) { .name = name, .type = type };
	return 0;
}

static int add_value(struct idl_parser *p, struct idl_type *t, char *name, size_t at)
{
	char **values;

	for (size_t i = 0; i < t->n_values; i++) {
		if (strcmp(t->values[i], name) == 0) {
			p->pos = at;
			free(name);
			return syntax_error(p, "duplicate enum value");
		}
	}
	values = realloc(t->values, (t->n_values + 1) * sizeof(*values));
	if (!values) {
		free(name);
		return no_memory(p);
	}
	t->values = values;
	t->values[t->n_values++] = name;
	return 0;
}

/*
 * "(" ... ")": a struct (a: T, b: U), the empty struct (), or, where
 * allow_enum, an enum (a, b).  Commas separate; none trails.
 */
static struct idl_type *parse_paren(struct idl_parser *p, bool allow_enum)
{
	struct idl_type *t;
	size_t at;
	char *name;

	if (expect_char(p, '(', "expected '('") < 0)
		return NULL;
	if (++p->nesting > IDL_MAX_NESTING) {
		syntax_error(p, "types nested too deeply");
		return NULL;
	}
	t = type_new(p, IDL_STRUCT);
	if (!t)
		return NULL;
	skip_blank(p);
	if (p->s[p->pos] == ')') {
		p->pos++;
		p->nesting--;
		return t;
	}

	at = p->pos;
	name = parse_field_name(p, "expected a field name ([A-Za-z](_?[A-Za-z0-9])*)");
	if (!name)
		goto fail;
	skip_blank(p);
	if (p->s[p->pos] != ':') {
		if (!allow_enum) {
			free(name);
			syntax_error(p, "expected ':' and a type (an enum is not allowed here)");
			goto fail;
		}
		t->kind = IDL_ENUM;
		for (;;) {
			if (add_value(p, t, name, at) < 0)
				goto fail;
			skip_blank(p);
			if (p->s[p->pos] == ')')
				break;
			if (p->s[p->pos] != ',') {
				syntax_error(p, "expected ',' or ')' after an enum value");
				goto fail;
			}
			p->pos++;
			skip_blank(p);
			at = p->pos;
			name = parse_field_name(p, "expected an enum value ([A-Za-z](_?[A-Za-z0-9])*)");
			if (!name)
				goto fail;
		}
	} else {
		for (;;) {
			struct idl_type *ft;

			p->pos++;	/* ':' */
			ft = parse_type(p);
			if (!ft) {
				free(name);
				goto fail;
			}
			if (add_field(p, t, name, ft, at) < 0)
				goto fail;
			skip_blank(p);
			if (p->s[p->pos] == ')')
				break;
			if (p->s[p->pos] != ',') {
				syntax_error(p, "expected ',' or ')' after a field");
				goto fail;
			}
			p->pos++;
			skip_blank(p);
			at = p->pos;
			name = parse_field_name(p, "expected a field name ([A-Za-z](_?[A-Za-z0-9])*)");
			if (!name)
				goto fail;
			skip_blank(p);
			if (p->s[p->pos] != ':') {
				free(name);
				syntax_error(p, "expected ':' after a field name");
				goto fail;
			}
		}
	}
	p->pos++;	/* ')' */
	p->nesting--;
	return t;

fail:
	type_free(t);
	return NULL;
}

/* A type without "?": bool, int, float, string, object, Name, (...), []T, [string]T. */
static struct idl_type *parse_type_nonnull(struct idl_parser *p)
{
	static const struct {
		const char *word;
		enum idl_kind kind;
	} primitives[] = {
		{ "bool", IDL_BOOL },
		{ "int", IDL_INT },
		{ "float", IDL_FLOAT },
		{ "string", IDL_STRING },
		{ "object", IDL_OBJECT },
	};
	struct idl_type *t;
	char c = p->s[p->pos];

	if (c == '(')
		return parse_paren(p, true);
	if (c == '[') {
		enum idl_kind kind;

		if (p->s[p->pos + 1] == ']') {
			kind = IDL_ARRAY;
			p->pos += 2;
		} else if (strncmp(p->s + p->pos, "[string]", 8) == 0) {
			kind = IDL_MAP;
			p->pos += 8;
		} else {
			syntax_error(p, "expected \"[]\" or \"[string]\"");
			return NULL;
		}
		if (++p->nesting > IDL_MAX_NESTING) {
			syntax_error(p, "types nested too deeply");
			return NULL;
		}
		t = type_new(p, kind);
		if (!t)
			return NULL;
		t->element = p->s[p->pos] == '?' || p->s[p->pos] == '[' || p->s[p->pos] == '(' ||
			     is_word_char(p->s[p->pos]) ? parse_type(p) : NULL;
		if (!t->element) {
			type_free(t);
			syntax_error(p, "expected the element type right after \"[]\" or \"[string]\"");
			return NULL;
		}
		p->nesting--;
		return t;
	}
	for (size_t i = 0; i < sizeof(primitives) / sizeof(primitives[0]); i++)
		if (accept_keyword(p, primitives[i].word))
			return type_new(p, primitives[i].kind);
	if (c >= 'A' && c <= 'Z') {
		unsigned line = p->line;
		size_t at = p->pos;
		char *name = read_word(p, NULL);

		if (!name)
			return NULL;
		if (!proto_member_name_is_valid(name)) {
			free(name);
			p->pos = at;
			syntax_error(p, "expected a type name ([A-Z][A-Za-z0-9]*)");
			return NULL;
		}
		t = type_new(p, IDL_NAMED);
		if (!t) {
			free(name);
			return NULL;
		}
		t->name = name;
		t->line = line;
		return t;
	}
	syntax_error(p, "expected a type (bool, int, float, string, object, a type name, "
		     "(...), []T, [string]T or ?T)");
	return NULL;
}

static struct idl_type *parse_type(struct idl_parser *p)
{
	struct idl_type *t;

	skip_blank(p);
	if (p->s[p->pos] != '?')
		return parse_type_nonnull(p);
	p->pos++;
	if (p->s[p->pos] == '?') {
		syntax_error(p, "a nullable type cannot be nullable again");
		return NULL;
	}
	t = parse_type_nonnull(p);
	if (t)
		t->nullable = true;
	return t;
}

static int add_member(struct idl_parser *p, struct proto_idl *idl, struct idl_member *m, size_t at)
{
	struct idl_member *members;

	if (member_find(idl, m->name)) {
		p->pos = at;
		syntax_error(p, "a type, method or error of that name exists");
		goto fail;
	}
	members = realloc(idl->members, (idl->n_members + 1) * sizeof(*members));
	if (!members) {
		no_memory(p);
		goto fail;
	}
	idl->members = members;
	idl->members[idl->n_members++] = *m;
	if (m->kind == IDL_MEMBER_METHOD)
		idl->n_methods++;
	return 0;

fail:
	free(m->name);
	type_free(m->type);
	type_free(m->output);
	return p->r;
}

/* "type Name (...)", "method Name (...) -> (...)" or "error Name (...)", the keyword read. */
static int parse_member(struct idl_parser *p, struct proto_idl *idl, enum idl_member_kind kind)
{
	struct idl_member m = { .kind = kind };
	size_t at;

	skip_blank(p);
	at = p->pos;
	m.line = p->line;
	m.name = read_word(p, NULL);
	if (!m.name)
		return p->r;
	if (!proto_member_name_is_valid(m.name)) {
		free(m.name);
		p->pos = at;
		return syntax_error(p, "expected a name ([A-Z][A-Za-z0-9]*)");
	}
	m.type = parse_paren(p, kind == IDL_MEMBER_TYPE);
	if (!m.type)
		goto fail;
	if (kind == IDL_MEMBER_METHOD) {
		skip_blank(p);
		if (strncmp(p->s + p->pos, "->", 2) != 0) {
			syntax_error(p, "expected \"->\" and the method's output");
			goto fail;
		}
		p->pos += 2;
		m.output = parse_paren(p, false);
		if (!m.output)
			goto fail;
	}
	return add_member(p, idl, &m, at);

fail:
	free(m.name);
	type_free(m.type);
	return p->r;
}

/* Resolve the named types under t to type members of idl. */
static int resolve(struct idl_parser *p, const struct proto_idl *idl, struct idl_type *t)
{
	int r;

	if (!t)
		return 0;
	if (t->kind == IDL_NAMED) {
		const struct idl_member *m = member_find(idl, t->name);

		if (!m || m->kind != IDL_MEMBER_TYPE) {
			if (p->r == 0) {
				p->r = -EINVAL;
				proto_error_set(p->err, "", "line %u: %s is not a type of %s", t->line,
						t->name, idl->name);
			}
			return p->r;
		}
		t->target = m;
		return 0;
	}
	r = resolve(p, idl, t->element);
	for (size_t i = 0; r == 0 && i < t->n_fields; i++)
		r = resolve(p, idl, t->fields[i].type);
	return r;
}

int proto_idl_parse(const char *text, struct proto_idl **ret, struct proto_error *err)
{
	struct idl_parser p = { .s = text, .line = 1, .err = err };
	struct proto_idl *idl;
	size_t at, len;

	if (!text)
		return -EINVAL;
	len = strlen(text);
	/* The text goes out as a JSON string (GetInterfaceDescription). */
	if (!proto_utf8_is_valid(text, len))
		return proto_error_set(err, "", "the interface description is not valid UTF-8");
	idl = calloc(1, sizeof(*idl));
	if (!idl)
		return -ENOMEM;
	idl->text = strdup(text);
	if (!idl->text) {
		proto_idl_free(idl);
		return -ENOMEM;
	}

	skip_blank(&p);
	if (!accept_keyword(&p, "interface")) {
		syntax_error(&p, "expected \"interface\" and the interface name");
		goto fail;
	}
	skip_blank(&p);
	at = p.pos;
	idl->name = read_word(&p, ".-");
	if (!idl->name)
		goto fail;
	if (!proto_interface_name_is_valid(idl->name)) {
		p.pos = at;
		syntax_error(&p, "expected an interface name (a reverse domain name: \"org.example.ftl\")");
		goto fail;
	}

	for (;;) {
		enum idl_member_kind kind;

		skip_blank(&p);
		if (!p.s[p.pos])
			break;
		if (accept_keyword(&p, "type")) {
			kind = IDL_MEMBER_TYPE;
		} else if (accept_keyword(&p, "method")) {
			kind = IDL_MEMBER_METHOD;
		} else if (accept_keyword(&p, "error")) {
			kind = IDL_MEMBER_ERROR;
		} else {
			syntax_error(&p, "expected \"type\", \"method\" or \"error\"");
			goto fail;
		}
		if (parse_member(&p, idl, kind) < 0)
			goto fail;
	}
	if (idl->n_members == 0) {
		syntax_error(&p, "an interface declares at least one type, method or error");
		goto fail;
	}
	for (size_t i = 0; i < idl->n_members; i++)
		if (resolve(&p, idl, idl->members[i].type) < 0 ||
		    resolve(&p, idl, idl->members[i].output) < 0)
			goto fail;
	*ret = idl;
	return 0;

fail:
	proto_idl_free(idl);
	return p.r ? p.r : -EINVAL;
}

/* ---- queries ---------------------------------------------------------- */

const char *proto_idl_name(const struct proto_idl *idl)
{
	return idl->name;
}

const char *proto_idl_text(const struct proto_idl *idl)
{
	return idl->text;
}

size_t proto_idl_method_count(const struct proto_idl *idl)
{
	return idl->n_methods;
}

const char *proto_idl_method_name(const struct proto_idl *idl, size_t i)
{
	for (size_t k = 0; k < idl->n_members; k++) {
		if (idl->members[k].kind != IDL_MEMBER_METHOD)
			continue;
		if (i-- == 0)
			return idl->members[k].name;
	}
	return NULL;
}

/*
 * The member of that kind named name: "Create", or qualified by this
 * interface's name ("io.hvcap.Vm.Create").
 */
static const struct idl_member *member_lookup(const struct proto_idl *idl, const char *name,
					      enum idl_member_kind kind)
{
	const struct idl_member *m;
	size_t n;

	if (!idl || !name)
		return NULL;
	n = strlen(idl->name);
	if (strncmp(name, idl->name, n) == 0 && name[n] == '.')
		name += n + 1;
	m = member_find(idl, name);
	return m && m->kind == kind ? m : NULL;
}

bool proto_idl_has_method(const struct proto_idl *idl, const char *method)
{
	return member_lookup(idl, method, IDL_MEMBER_METHOD) != NULL;
}

bool proto_idl_has_error(const struct proto_idl *idl, const char *error)
{
	return member_lookup(idl, error, IDL_MEMBER_ERROR) != NULL;
}

/* ---- the checker ------------------------------------------------------ */

static const char *kind_desc(const struct idl_type *t)
{
	switch (t->kind) {
	case IDL_BOOL:
		return "true or false";
	case IDL_INT:
		return "an integer";
	case IDL_FLOAT:
		return "a number";
	case IDL_STRING:
		return "a string";
	case IDL_OBJECT:
	case IDL_STRUCT:
	case IDL_MAP:
		return "an object";
	case IDL_ENUM:
		return "a string";
	case IDL_ARRAY:
		return "an array";
	case IDL_NAMED:
		return kind_desc(t->target->type);
	}
	return "a value";
}

static int check_value(const struct idl_type *t, struct json_object *v, const char *path,
		       unsigned depth, struct proto_error *err);

static int check_struct(const struct idl_type *t, struct json_object *obj, const char *path,
			unsigned depth, struct proto_error *err)
{
	char sub[sizeof(err->path)];
	struct json_object_iter it;

	json_object_object_foreachC(obj, it) {
		const struct idl_field *f = NULL;
		int r;

		for (size_t i = 0; i < t->n_fields; i++)
			if (strcmp(t->fields[i].name, it.key) == 0)
				f = &t->fields[i];
		proto_json_path_key(sub, sizeof(sub), path, it.key);
		if (!f)
			return proto_error_set(err, sub, "unknown field");
		r = check_value(f->type, it.val, sub, depth, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < t->n_fields; i++) {
		const struct idl_field *f = &t->fields[i];

		if (!f->type->nullable && !json_object_object_get_ex(obj, f->name, NULL)) {
			proto_json_path_key(sub, sizeof(sub), path, f->name);
			return proto_error_set(err, sub, "missing required field");
		}
	}
	return 0;
}

static int check_enum(const struct idl_type *t, struct json_object *v, const char *path,
		      struct proto_error *err)
{
	char list[160], shown[PROTO_SHOWN_SIZE];
	size_t at = 0, n;
	const char *s;

	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	for (size_t i = 0; i < t->n_values; i++)
		if (strlen(t->values[i]) == n && memcmp(t->values[i], s, n) == 0)
			return 0;
	list[0] = '\0';
	for (size_t i = 0; i < t->n_values && at < sizeof(list); i++) {
		int w = snprintf(list + at, sizeof(list) - at, "%s\"%s\"", i ? ", " : "", t->values[i]);

		if (w < 0)
			break;
		at += (size_t)w;
	}
	if (at >= sizeof(list))
		memcpy(list + sizeof(list) - 4, "...", 4);
	return proto_error_set(err, path, "expected one of %s, got \"%s\"", list,
			       proto_json_show(shown, sizeof(shown), s, n));
}

static int check_value(const struct idl_type *t, struct json_object *v, const char *path,
		       unsigned depth, struct proto_error *err)
{
	char sub[sizeof(err->path)];
	int r;

	if (!v) {
		if (t->nullable)
			return 0;
		return proto_error_set(err, path, "expected %s, got null", kind_desc(t));
	}
	switch (t->kind) {
	case IDL_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			break;
		return 0;
	case IDL_INT:
		if (!json_object_is_type(v, json_type_int))
			break;
		/* json-c keeps 2^63..2^64-1 as uint64; Varlink's int is int64. */
		if (json_object_get_int64(v) == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
			return proto_error_set(err, path, "integer out of the 64-bit signed range");
		return 0;
	case IDL_FLOAT:
		if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
			break;
		return 0;
	case IDL_STRING:
	case IDL_ENUM:
		if (!json_object_is_type(v, json_type_string))
			break;
		/* json-c keeps "\u0000"; C code reading the string would stop there. */
		if (memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)))
			return proto_error_set(err, path, "string contains a NUL character");
		return t->kind == IDL_ENUM ? check_enum(t, v, path, err) : 0;
	case IDL_OBJECT:
		if (!json_object_is_type(v, json_type_object))
			break;
		return 0;
	case IDL_NAMED:
		return check_value(t->target->type, v, path, depth, err);
	case IDL_STRUCT:
	case IDL_ARRAY:
	case IDL_MAP:
		if (depth >= IDL_CHECK_MAX_DEPTH)
			return proto_error_set(err, path, "nested too deeply");
		if (t->kind == IDL_STRUCT && json_object_is_type(v, json_type_object))
			return check_struct(t, v, path, depth + 1, err);
		if (t->kind == IDL_ARRAY && json_object_is_type(v, json_type_array)) {
			size_t n = json_object_array_length(v);

			for (size_t i = 0; i < n; i++) {
				proto_json_path_index(sub, sizeof(sub), path, i);
				r = check_value(t->element, json_object_array_get_idx(v, i), sub, depth + 1, err);
				if (r < 0)
					return r;
			}
			return 0;
		}
		if (t->kind == IDL_MAP && json_object_is_type(v, json_type_object)) {
			struct json_object_iter it;

			json_object_object_foreachC(v, it) {
				proto_json_path_key(sub, sizeof(sub), path, it.key);
				r = check_value(t->element, it.val, sub, depth + 1, err);
				if (r < 0)
					return r;
			}
			return 0;
		}
		break;
	}
	return proto_error_set(err, path, "expected %s, got %s", kind_desc(t), proto_json_type_desc(v));
}

/* Check parameters (NULL: {}) against the struct t. */
static int check_parameters(const struct idl_type *t, struct json_object *parameters,
			    struct proto_error *err)
{
	struct json_object *empty;
	int r;

	if (parameters) {
		if (!json_object_is_type(parameters, json_type_object))
			return proto_error_set(err, "", "expected an object, got %s",
					       proto_json_type_desc(parameters));
		return check_struct(t, parameters, "", 0, err);
	}
	empty = json_object_new_object();
	if (!empty)
		return -ENOMEM;
	r = check_struct(t, empty, "", 0, err);
	json_object_put(empty);
	return r;
}

int proto_idl_check_input(const struct proto_idl *idl, const char *method,
			  struct json_object *parameters, struct proto_error *err)
{
	const struct idl_member *m = member_lookup(idl, method, IDL_MEMBER_METHOD);

	if (!m)
		return -ENOENT;
	return check_parameters(m->type, parameters, err);
}

int proto_idl_check_output(const struct proto_idl *idl, const char *method,
			   struct json_object *parameters, struct proto_error *err)
{
	const struct idl_member *m = member_lookup(idl, method, IDL_MEMBER_METHOD);

	if (!m)
		return -ENOENT;
	return check_parameters(m->output, parameters, err);
}

int proto_idl_check_error(const struct proto_idl *idl, const char *error,
			  struct json_object *parameters, struct proto_error *err)
{
	const struct idl_member *m = member_lookup(idl, error, IDL_MEMBER_ERROR);

	if (!m)
		return -ENOENT;
	return check_parameters(m->type, parameters, err);
}

/* ---- the embedded interfaces ------------------------------------------ */

static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static struct proto_idl **builtin_idls;
static int builtin_result;
static struct proto_error builtin_error;

/* Parse every embedded file once; the first failure is kept for proto_idl_builtin_load(). */
static void builtin_parse(void)
{
	builtin_idls = calloc(proto_idl_source_count, sizeof(*builtin_idls));
	if (!builtin_idls) {
		builtin_result = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < proto_idl_source_count; i++) {
		struct proto_error err = { { 0 } };
		int r = proto_idl_parse(proto_idl_sources[i].text, &builtin_idls[i], &err);

		if (r < 0 && builtin_result == 0) {
			builtin_result = r;
			/* The file name and the parser's message, cut to fit one message. */
			proto_error_set(&builtin_error, err.path, "%s: %.200s", proto_idl_sources[i].file,
					err.message);
		}
	}
}

int proto_idl_builtin_load(struct proto_error *err)
{
	if (pthread_once(&builtin_once, builtin_parse) != 0)
		return -EAGAIN;
	if (builtin_result < 0 && err)
		*err = builtin_error;
	return builtin_result;
}

size_t proto_idl_builtin_count(void)
{
	return proto_idl_source_count;
}

const struct proto_idl *proto_idl_builtin(size_t i)
{
	if (i >= proto_idl_source_count || pthread_once(&builtin_once, builtin_parse) != 0 ||
	    !builtin_idls)
		return NULL;
	return builtin_idls[i];
}

const struct proto_idl *proto_idl_builtin_find(const char *interface)
{
	if (!interface)
		return NULL;
	for (size_t i = 0; i < proto_idl_source_count; i++) {
		const struct proto_idl *idl = proto_idl_builtin(i);

		if (idl && strcmp(idl->name, interface) == 0)
			return idl;
	}
	return NULL;
}
