# SPDX-License-Identifier: LGPL-2.1-or-later
# libhvcap.3 is a one-line ".so man3/hvcap.3": `man libhvcap` shows hvcap(3).
dist_man_MANS += \
	man/hvctl.1 \
	man/hvcap.3 \
	man/libhvcap.3 \
	man/hvcapd.conf.5 \
	man/hvcap-policy.5 \
	man/hvcap-control.7 \
	man/hvcapd.8
