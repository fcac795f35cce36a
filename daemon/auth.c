/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may call privileged methods (DESIGN.md §7): root, the daemon's own
 * uid, or a member of the configured admin group.  The peer's uid and gid
 * come from SO_PEERCRED at accept; membership is the peer's primary gid
 * or the group database's view of its user (getgrouplist()), as login
 * would set it up.  The server caches the answer per connection.
 */

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include "server.h"

/* Supplementary groups looked at per user; more is a misconfigured host. */
#define AUTH_MAX_GROUPS 1024

static bool auth_user_in_group(uid_t uid, gid_t primary, gid_t want)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[AUTH_MAX_GROUPS];
	int n = AUTH_MAX_GROUPS;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	/* With more groups than fit, n is set to the total and -1 returned: look at those that fit. */
	if (getgrouplist(pw.pw_name, primary, groups, &n) < 0)
		n = AUTH_MAX_GROUPS;
	for (int i = 0; i < n && i < AUTH_MAX_GROUPS; i++)
		if (groups[i] == want)
			return true;
	/* The user's own primary group from the password database counts too. */
	return pw.pw_gid == want;
}

bool auth_peer_is_privileged(const struct hvcapd_config *cfg, uid_t uid, gid_t gid)
{
	if (uid == 0 || uid == geteuid())
		return true;
	if (!cfg->has_admin_gid)
		return false;
	if (gid == cfg->admin_gid)
		return true;
	return auth_user_in_group(uid, gid, cfg->admin_gid);
}
