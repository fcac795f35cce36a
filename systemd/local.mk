# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hvcapd's systemd units, its sysusers.d and tmpfiles.d snippets.  The
# service names the installed hvcapd and hvcapd.conf, so it is generated
# from hvcapd.service.in at make time (not by configure: the paths must be
# make's, which a `make prefix=...` may change).  The snippets install
# under the names systemd looks for, hvcap.conf in each directory; the
# directories come from configure (--with-systemdsystemunitdir,
# --with-sysusersdir, --with-tmpfilesdir).

dist_systemdsystemunit_DATA = systemd/hvcapd.socket
nodist_systemdsystemunit_DATA = systemd/hvcapd.service
EXTRA_DIST += systemd/hvcapd.service.in systemd/hvcap.sysusers systemd/hvcap.tmpfiles
CLEANFILES += systemd/hvcapd.service

systemd/hvcapd.service: $(srcdir)/systemd/hvcapd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		'$(srcdir)/systemd/hvcapd.service.in' >$@.tmp && \
	if grep -n '@[a-z_]*@' $@.tmp; then echo "$@: unsubstituted variables" >&2; rm -f $@.tmp; exit 1; fi && \
	mv $@.tmp $@

install-data-local: install-systemd-snippets
uninstall-local: uninstall-systemd-snippets

install-systemd-snippets:
	$(MKDIR_P) '$(DESTDIR)$(sysusersdir)' '$(DESTDIR)$(tmpfilesdir)'
	$(INSTALL_DATA) '$(srcdir)/systemd/hvcap.sysusers' '$(DESTDIR)$(sysusersdir)/hvcap.conf'
	$(INSTALL_DATA) '$(srcdir)/systemd/hvcap.tmpfiles' '$(DESTDIR)$(tmpfilesdir)/hvcap.conf'

uninstall-systemd-snippets:
	rm -f '$(DESTDIR)$(sysusersdir)/hvcap.conf' '$(DESTDIR)$(tmpfilesdir)/hvcap.conf'

.PHONY: install-systemd-snippets uninstall-systemd-snippets
