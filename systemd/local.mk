# SPDX-License-Identifier: LGPL-2.1-or-later
# systemd units, sysusers.d and tmpfiles.d snippets (filled in by the systemd work).
