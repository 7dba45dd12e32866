#!/usr/bin/env bash
# QEMU built from a git checkout against the default conformance matrix: fetch <ref> of <git-url>
# into <work-dir>/src, build qemu-system-x86_64 (configure --target-list=x86_64-softmmu, make -j)
# in <work-dir>/build, and run `e820 run --qemu-binary <work-dir>/build/qemu-system-x86_64` on the
# default matrix. SeaBIOS and the kernel are provisioned as for any user QEMU; the model
# predicts with the built QEMU's version's profile, or the nearest earlier one (extrapolated), and
# says which in results.json and after the summary table (README "For QEMU developers").
#
# Usage: ci/qemu-from-git.sh <git-url> <ref> <work-dir> [results-dir]
#   e.g. ci/qemu-from-git.sh https://gitlab.com/qemu-project/qemu.git master /var/tmp/qemu-git results/qemu-git
# <ref> is a branch, a tag or a commit. The results directory (default results/qemu-git) also gets
# qemu-git.txt: the URL, the ref and the commit built.
# Exit status is e820 run's: 0 all pass, 1 a cell failed, 2 harness trouble; a failed fetch or
# build exits with its own status before anything boots.
set -euo pipefail

url=${1:?git URL of the QEMU repository}
ref=${2:?branch, tag or commit to build}
work=${3:?work directory (the checkout and the build go there)}
repo=$(cd "$(dirname "$0")/.." && pwd)
results=${4:-$repo/results/qemu-git}

# What QEMU's build needs for x86_64-softmmu on Debian (the x86 subset of `apt-get build-dep qemu`):
# compiler and make, ninja and python3-venv (configure sets up its own meson in a venv),
# pkg-config, glib, pixman, zlib, libslirp (user networking), flex and bison (dtc), git.
build_deps=(
  build-essential
  ca-certificates
  git
  ninja-build
  pkg-config
  python3
  python3-venv
  libglib2.0-dev
  libpixman-1-dev
  zlib1g-dev
  libslirp-dev
  flex
  bison
  bzip2
)
missing=()
for p in "${build_deps[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt_get=(apt-get)
  elif command -v sudo >/dev/null; then
    apt_get=(sudo apt-get)
  else
    echo "ci/qemu-from-git.sh: missing build dependencies (${missing[*]}) and not root; install them with apt-get" >&2
    exit 2
  fi
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" update
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y --no-install-recommends "${missing[@]}"
fi

src=$work/src
build=$work/build
mkdir -p "$work"
# One shallow fetch of exactly the ref (a branch, a tag or a commit); an existing checkout is reused.
if [ ! -d "$src/.git" ]; then
  git init --quiet "$src"
  git -C "$src" remote add origin "$url"
else
  git -C "$src" remote set-url origin "$url"
fi
git -C "$src" fetch --quiet --depth 1 origin "$ref"
git -C "$src" checkout --quiet --force --detach FETCH_HEAD
commit=$(git -C "$src" rev-parse HEAD)
echo "ci/qemu-from-git.sh: building QEMU $commit ($url $ref)" >&2

# A fresh build directory: configure's cached options never leak from another ref.
rm -rf -- "$build"
mkdir -p "$build"
(
  cd "$build"
  "$src/configure" --target-list=x86_64-softmmu --disable-docs
  make -j"$(nproc)"
)
binary=$build/qemu-system-x86_64
"$binary" --version

cd "$repo"
mkdir -p "$results"
status=0
npx e820 run --qemu-binary "$binary" --results "$results" || status=$?
printf 'url: %s\nref: %s\ncommit: %s\n' "$url" "$ref" "$commit" >"$results/qemu-git.txt"
exit "$status"
