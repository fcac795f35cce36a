/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Feature names for libhvcap's users (hvcap/hvcap.h): libcaps' catalog,
 * whose ids index the control plane's cap words.
 */

#include <errno.h>

#include <hvcap/hvcap.h>
#include <libcaps/caps.h>

_Static_assert(NR_CAPS_WORDS <= HVCAP_CTL_CAP_WORDS, "the catalog's words fit the control plane's cap arrays");

int hvcap_feature_lookup(const char *name)
{
	int r;

	if (!name)
		return -EINVAL;
	r = caps_feature_lookup(name);
	/* caps_feature_lookup() refuses "" and over-long names: no feature has one. */
	if (r == -EINVAL)
		return -ENOENT;
	return r;
}

const char *hvcap_feature_name(int feature)
{
	return caps_feature_name(feature, CAPS_NAMES_LINUX);
}
