#!/usr/bin/env bash
# One shard of the nightly conformance run: provision the toolchain (cached between runs),
# boot this shard's cells, leave results.json, junit.xml and report.html in results/<toolchain>/shard-<i>
# (the nightly's merge job joins the shards: e820 report --merge results/<toolchain>/shard-* --out …).
# Usage: ci/nightly-shard.sh <suite-or-toolchain> <shard-index> <shard-count> [matrix…]
#   e.g. ci/nightly-shard.sh sid 2 4
# E820_KERNEL_FLAVOUR=cloud boots Debian's cloud kernel of the series, results in results/<toolchain>/;
# minimal, or unset (the CLI's default), the project's minimal kernel (built once by `e820 kernel
# build`, cached), results in results/<toolchain>-minimal/.
# Exit status is e820 run's: 0 all pass, 1 a cell failed, 2 harness trouble.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=${1:?toolchain (bullseye, bookworm, trixie, sid)}
index=${2:?shard index, 1-based}
count=${3:?shard count}
shift 3

# The suite's versions come from the one table (harness/provision/toolchain.ts SUITE_COMPONENTS);
# an unknown suite exits 2 there, naming the known ones.
versions_line=$(npx e820 toolchain versions "$toolchain")
read -r -a versions <<< "$versions_line"

case "${E820_KERNEL_FLAVOUR:-minimal}" in
  cloud) flavour=(--kernel-flavour cloud); out="results/$toolchain" ;;
  minimal) flavour=(--kernel-flavour minimal); out="results/$toolchain-minimal" ;;
  *) echo "ci/nightly-shard.sh: unknown E820_KERNEL_FLAVOUR '${E820_KERNEL_FLAVOUR}' (cloud, minimal)" >&2; exit 2 ;;
esac

npx e820 toolchain fetch "${versions[@]}"
if [ "${flavour[1]}" = minimal ]; then npx e820 kernel build --kernel "${versions[5]}"; fi
npx e820 run "$@" "${versions[@]}" "${flavour[@]}" --shard "$index/$count" --results "$out/shard-$index"
