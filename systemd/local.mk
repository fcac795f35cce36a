# SPDX-License-Identifier: LGPL-2.1-or-later
#
# hvcapd's systemd units, its sysusers.d and tmpfiles.d snippets, and the
# timer that refreshes the NFD feature file (hvcap-nfd.timer and .service).
# The services name the installed hvcapd, hvcapd.conf and hvctl, so they
# are generated from their .in files at make time (not by configure: the paths must be
# make's, which a `make prefix=...` may change).  The snippets install
# under the names systemd looks for, hvcap.conf in each directory; the
# directories come from configure (--with-systemdsystemunitdir,
# --with-sysusersdir, --with-tmpfilesdir).

dist_systemdsystemunit_DATA = systemd/hvcapd.socket systemd/hvcap-nfd.timer
nodist_systemdsystemunit_DATA = systemd/hvcapd.service systemd/hvcap-nfd.service
EXTRA_DIST += systemd/hvcapd.service.in systemd/hvcap-nfd.service.in systemd/hvcap.sysusers systemd/hvcap.tmpfiles
CLEANFILES += systemd/hvcapd.service systemd/hvcap-nfd.service

systemd/hvcapd.service: $(srcdir)/systemd/hvcapd.service.in Makefile
systemd/hvcap-nfd.service: $(srcdir)/systemd/hvcap-nfd.service.in Makefile
systemd/hvcapd.service systemd/hvcap-nfd.service:
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		'$(srcdir)/$@.in' >$@.tmp && \
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
