#!/usr/bin/env bash
# Runs the CPU/CUDA parity suite (test/cuda) under NVIDIA compute-sanitizer,
# once per tool: memcheck (out-of-bounds / misaligned device accesses, bad
# API arguments), racecheck (shared-memory races), synccheck (illegal
# __syncthreads / warp-sync use). Needs a machine with a CUDA GPU and an
# addon built with CUDA (npm run build:native finds nvcc; or
# IMIX_CUDA=ON node scripts/build-native.js --force).
#
#   scripts/cuda-sanitize.sh                 # memcheck, racecheck, synccheck
#   SANITIZE_TOOLS="memcheck initcheck" scripts/cuda-sanitize.sh
#   COMPUTE_SANITIZER=/path/to/compute-sanitizer scripts/cuda-sanitize.sh
#   IMIX_BUILD_DIR=build-cuda scripts/cuda-sanitize.sh   # another build
#   SANITIZE_FILTER='conv family|BatchNorm2d' scripts/cuda-sanitize.sh
#                                            # only the parity tests whose name
#                                            # matches (vitest -t), e.g. one family
#
# Leak checking is off: the caching allocator keeps device blocks for the
# life of the process by design. Exit status: 0 clean, 99 a tool reported
# errors, 2 no usable CUDA device (nothing would have been checked).
#
# This is the slow, thorough run (the whole parity suite, many minutes under
# each tool). The one-call GPU check, scripts/device-check.sh, instead runs
# compute-sanitizer over a short workload of every kernel family
# (dist/bench/cuda-workload.js) with the exact-size allocator
# (IMIX_CUDA_NO_CACHE=1) and a sync after each launch (IMIX_CUDA_SYNC_LAUNCH=1).
# IMIX_CUDA_SYNC_LAUNCH=1 works here too; IMIX_CUDA_NO_CACHE=1 does not (the
# suite asserts the cache's reuse). No npx and no network: dist/ is compiled
# with the local typescript when it is installed, else used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

CS="${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)}"
if [ ! -x "$CS" ]; then
  echo "cuda-sanitize: compute-sanitizer not found (install the CUDA toolkit or set COMPUTE_SANITIZER)" >&2
  exit 1
fi

if [ -f node_modules/typescript/bin/tsc ]; then
  node node_modules/typescript/bin/tsc -p tsconfig.json
elif [ ! -f dist/lib/index.js ]; then
  echo "cuda-sanitize: no dist/ and no node_modules/typescript to compile it (npm ci, or scripts/prepare-device-carry.sh)" >&2
  exit 1
fi
if ! node -e "const i=require('./dist/lib/index.js'); if (!i.cudaAvailable()) { console.error('cuda-sanitize: no usable CUDA device: ' + i.info().cuda.reason); process.exit(2) }"; then
  exit 2
fi

filter=()
[ -n "${SANITIZE_FILTER:-}" ] && filter=(-t "$SANITIZE_FILTER")
status=0
for tool in ${SANITIZE_TOOLS:-memcheck racecheck synccheck}; do
  echo "cuda-sanitize: --tool $tool"
  # vitest runs the test file in a child process: follow it.
  if ! "$CS" --tool "$tool" --target-processes all --error-exitcode 99 \
      node node_modules/vitest/vitest.mjs run test/cuda "${filter[@]}"; then
    echo "cuda-sanitize: $tool reported errors" >&2
    status=99
  fi
done
exit $status
