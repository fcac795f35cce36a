/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decode every real CPU dump of libvirt's cputestdata (read in place from
 * ../shared/testdata, never copied here) and hold the result to libvirt's
 * own expected outputs:
 *
 *   - every <feature> that x86_64-cpuid-<CPU>-host.xml lists beyond its
 *     model, and every policy='require' feature of -guest.xml, is decoded
 *     as present, under exactly libvirt's spelling (--names qemu);
 *   - family, model and stepping equal the .sig file and the -host.xml
 *     <signature>.
 *
 * -json.xml describes what KVM offered a guest, not the raw CPU; it is
 * the host model's business (a later test).
 */

#include <dirent.h>
#include <errno.h>
#include <expat.h>
#include <string.h>
#include <sys/stat.h>

#include <libcaps/dump.h>

#include "test-util.h"

#define MAX_STEMS 64
#define MAX_NAMES 256

static char testdata_dir[4096];
static char *stems[MAX_STEMS];
static size_t n_stems;

struct expected {
	char *names[MAX_NAMES];
	size_t n;
	bool require_only;	/* -guest.xml: only policy='require' */
	int family, model, stepping;
	int depth;
	bool overflow;
};

static void XMLCALL expected_start(void *data, const XML_Char *el, const XML_Char **attr)
{
	struct expected *ex = data;
	const char *name = NULL, *policy = NULL;

	ex->depth++;
	if (strcmp(el, "signature") == 0) {
		for (int i = 0; attr[i]; i += 2) {
			if (strcmp(attr[i], "family") == 0)
				ex->family = atoi(attr[i + 1]);
			else if (strcmp(attr[i], "model") == 0)
				ex->model = atoi(attr[i + 1]);
			else if (strcmp(attr[i], "stepping") == 0)
				ex->stepping = atoi(attr[i + 1]);
		}
		return;
	}
	/* Only <cpu><feature/>: a <model> element never nests features. */
	if (strcmp(el, "feature") != 0 || ex->depth != 2)
		return;
	for (int i = 0; attr[i]; i += 2) {
		if (strcmp(attr[i], "name") == 0)
			name = attr[i + 1];
		else if (strcmp(attr[i], "policy") == 0)
			policy = attr[i + 1];
	}
	if (!name)
		return;
	if (ex->require_only ? !policy || strcmp(policy, "require") != 0 : policy != NULL)
		return;
	if (ex->n >= MAX_NAMES) {
		ex->overflow = true;
		return;
	}
	ex->names[ex->n++] = strdup(name);
}

static void XMLCALL expected_end(void *data, const XML_Char *el)
{
	struct expected *ex = data;

	(void)el;
	ex->depth--;
}

/* 0 when parsed, -ENOENT when the file does not exist. */
static int expected_load(const char *path, bool require_only, struct expected *ex)
{
	XML_Parser p;
	FILE *f = fopen(path, "re");
	char buf[65536];
	size_t len;

	memset(ex, 0, sizeof(*ex));
	ex->require_only = require_only;
	ex->family = ex->model = ex->stepping = -1;
	if (!f)
		return -errno;
	len = fread(buf, 1, sizeof(buf), f);
	ck_assert_msg(feof(f), "%s: larger than the test's buffer", path);
	fclose(f);

	p = XML_ParserCreate(NULL);
	ck_assert_ptr_nonnull(p);
	XML_SetUserData(p, ex);
	XML_SetElementHandler(p, expected_start, expected_end);
	ck_assert_msg(XML_Parse(p, buf, (int)len, 1) == XML_STATUS_OK, "%s:%lu: %s", path,
		      (unsigned long)XML_GetCurrentLineNumber(p), XML_ErrorString(XML_GetErrorCode(p)));
	XML_ParserFree(p);
	ck_assert_msg(!ex->overflow, "%s: more than %d features", path, MAX_NAMES);
	return 0;
}

static void expected_free(struct expected *ex)
{
	for (size_t i = 0; i < ex->n; i++)
		free(ex->names[i]);
	ex->n = 0;
}

/* Append every expected name that is missing, misspelled or unknown to msg. */
static unsigned check_features(const struct caps *present, const struct expected *ex,
			       const char *what, char *msg, size_t size)
{
	unsigned bad = 0;

	for (size_t i = 0; i < ex->n; i++) {
		const char *name = ex->names[i];
		int id = caps_feature_lookup(name);
		const char *problem = NULL;
		size_t len = strlen(msg);

		if (id < 0)
			problem = "not in the catalog";
		else if (!caps_has(present, id))
			problem = "not decoded as present";
		else if (strcmp(caps_feature_name(id, CAPS_NAMES_QEMU), name) != 0)
			problem = "decoded under another QEMU spelling";
		if (!problem)
			continue;
		bad++;
		snprintf(msg + len, size - len, "\n  %s: %s: %s%s%s", what, name, problem,
			 id >= 0 ? " as " : "", id >= 0 ? caps_feature_name(id, CAPS_NAMES_QEMU) : "");
	}
	return bad;
}

/* The .sig file: "%06x\nfamily: N (0x..)\nmodel: N (0x..)\nstepping: N (0x..)\n". */
static void sig_load(const char *path, unsigned *sig, int *family, int *model, int *stepping)
{
	FILE *f = fopen(path, "re");
	char line[128];

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert(fgets(line, sizeof(line), f));
	ck_assert_int_eq(sscanf(line, "%x", sig), 1);
	*family = *model = *stepping = -1;
	while (fgets(line, sizeof(line), f)) {
		char key[16];
		int v;

		if (sscanf(line, "%15[a-z]: %d", key, &v) != 2)
			continue;
		if (strcmp(key, "family") == 0)
			*family = v;
		else if (strcmp(key, "model") == 0)
			*model = v;
		else if (strcmp(key, "stepping") == 0)
			*stepping = v;
	}
	fclose(f);
}

START_TEST(test_testdata_dump_decodes_as_libvirt_expects)
{
	const char *stem = stems[_i];
	static struct caps_dump d;
	struct caps_dump_error err = { 0 };
	struct caps_cpu_id id;
	struct caps present;
	struct expected host, guest;
	char path[8192], msg[16384] = "";
	unsigned sig, bad = 0;
	int family, model, stepping, r;

	snprintf(path, sizeof(path), "%s/%s.xml", testdata_dir, stem);
	r = caps_dump_read_file(path, CAPS_DUMP_AUTO, &d, &err);
	ck_assert_msg(r == 0, "%s:%u: %s", path, err.line, err.message);
	ck_assert_int_eq(caps_cpu_id_decode(&d, &id), 0);
	caps_from_dump(&present, &d);

	snprintf(path, sizeof(path), "%s/%s.sig", testdata_dir, stem);
	sig_load(path, &sig, &family, &model, &stepping);
	ck_assert_msg(id.signature == sig, "%s: signature 0x%06x, .sig says 0x%06x", stem, id.signature, sig);
	ck_assert_msg((int)id.family == family && (int)id.model == model && (int)id.stepping == stepping,
		      "%s: decoded %u/%u/%u, .sig says %d/%d/%d", stem, id.family, id.model,
		      id.stepping, family, model, stepping);

	snprintf(path, sizeof(path), "%s/%s-host.xml", testdata_dir, stem);
	ck_assert_msg(expected_load(path, false, &host) == 0, "%s: missing", path);
	ck_assert_msg(host.n > 0, "%s: no features", path);
	ck_assert_msg((int)id.family == host.family && (int)id.model == host.model &&
		      (int)id.stepping == host.stepping, "%s: <signature> disagrees", path);
	bad += check_features(&present, &host, "-host.xml", msg, sizeof(msg));

	snprintf(path, sizeof(path), "%s/%s-guest.xml", testdata_dir, stem);
	if (expected_load(path, true, &guest) == 0)
		bad += check_features(&present, &guest, "-guest.xml require", msg, sizeof(msg));

	ck_assert_msg(bad == 0, "%s: %u expected features wrong:%s", stem, bad, msg);
	expected_free(&host);
	expected_free(&guest);
}
END_TEST

/* The test data must not silently shrink to nothing. */
START_TEST(test_testdata_has_all_twelve_cpus)
{
	ck_assert_uint_eq(n_stems, 12);
}
END_TEST

static int stem_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int stems_load(void)
{
	const char *top = getenv("HVCAP_TESTDATA");
	DIR *dir;
	struct dirent *de;

	if (!top || !*top)
		return -ENOENT;
	snprintf(testdata_dir, sizeof(testdata_dir), "%s/libvirt-cputestdata", top);
	dir = opendir(testdata_dir);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);

		if (len > 4 && strcmp(de->d_name + len - 4, ".sig") == 0 && n_stems < MAX_STEMS)
			stems[n_stems++] = strndup(de->d_name, len - 4);
	}
	closedir(dir);
	qsort(stems, n_stems, sizeof(stems[0]), stem_cmp);
	return 0;
}

int main(void)
{
	Suite *s = suite_create("testdata");
	TCase *tc;
	int r = stems_load();

	if (r < 0) {
		fprintf(stderr, "SKIP: libvirt test data not found (HVCAP_TESTDATA=%s): %s\n",
			getenv("HVCAP_TESTDATA") ? getenv("HVCAP_TESTDATA") : "(unset)", strerror(-r));
		return TEST_EXIT_SKIP;
	}

	tc = tcase_create("libvirt");
	tcase_add_test(tc, test_testdata_has_all_twelve_cpus);
	tcase_add_loop_test(tc, test_testdata_dump_decodes_as_libvirt_expects, 0, (int)n_stems);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
