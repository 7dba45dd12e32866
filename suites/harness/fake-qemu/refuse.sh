#!/bin/sh
# QEMU rejecting its command line: message on stderr, exit 1, nothing on the console.
. "$(dirname "$0")/lib.sh"
echo "qemu-system-x86_64: -m banana: Parameter 'size' expects a non-negative number below 2^64" >&2
echo "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-" >&2
echo "and exabytes, respectively." >&2
exit 1
