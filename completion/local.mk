# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for hvctl, installed where bash-completion loads it on
# demand ($(bashcompletiondir)/hvctl, named after the command it completes).

dist_bashcompletion_DATA = completion/hvctl
