# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The default configuration, /etc/hvcap/hvcapd.conf (hvcapd.conf(5)): every
# key commented out at its default.  An existing file that differs is an
# administrator's: make install leaves it and says so, make uninstall
# removes the file only while it is still ours.

hvcapconfdir = $(sysconfdir)/hvcap
EXTRA_DIST += etc/hvcapd.conf

install-data-local: install-hvcapd-conf
uninstall-local: uninstall-hvcapd-conf

install-hvcapd-conf:
	$(MKDIR_P) '$(DESTDIR)$(hvcapconfdir)'
	@if test -f '$(DESTDIR)$(hvcapconfdir)/hvcapd.conf' && \
	    ! cmp -s '$(srcdir)/etc/hvcapd.conf' '$(DESTDIR)$(hvcapconfdir)/hvcapd.conf'; then \
		echo "$(DESTDIR)$(hvcapconfdir)/hvcapd.conf differs from the default: kept"; \
	else \
		echo " $(INSTALL_DATA) etc/hvcapd.conf '$(DESTDIR)$(hvcapconfdir)/hvcapd.conf'"; \
		$(INSTALL_DATA) '$(srcdir)/etc/hvcapd.conf' '$(DESTDIR)$(hvcapconfdir)/hvcapd.conf'; \
	fi

uninstall-hvcapd-conf:
	@if cmp -s '$(srcdir)/etc/hvcapd.conf' '$(DESTDIR)$(hvcapconfdir)/hvcapd.conf'; then \
		echo " rm -f '$(DESTDIR)$(hvcapconfdir)/hvcapd.conf'"; \
		rm -f '$(DESTDIR)$(hvcapconfdir)/hvcapd.conf'; \
	fi
	-rmdir '$(DESTDIR)$(hvcapconfdir)' 2>/dev/null

.PHONY: install-hvcapd-conf uninstall-hvcapd-conf
