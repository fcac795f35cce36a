# SPDX-License-Identifier: LGPL-2.1-or-later
dist_man_MANS += man/hvctl.1 man/hvcapd.8 man/hvcap-control.7 man/libhvcap.3
