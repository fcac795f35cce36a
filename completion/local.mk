# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for hvctl (filled in by the completion work).
