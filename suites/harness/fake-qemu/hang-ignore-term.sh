#!/bin/sh
# Hangs before the firmware prints anything and ignores SIGTERM (inherited by its child):
# only SIGKILL to the whole process group ends it.
. "$(dirname "$0")/lib.sh"
trap '' TERM
hang
