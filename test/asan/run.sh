#!/usr/bin/env bash
# The CPU kernel sets built with AddressSanitizer and UndefinedBehaviorSanitizer
# (the production flags of CMakeLists.txt plus -fsanitize), then
# kernel_fuzz.cpp's random conv, max-pool, view and mix cases through each:
# an out-of-bounds write or read in a kernel or in its workspace, or a wrong
# value, fails the run.
# Needs cmake and g++ only (not the addon: the harness loads a kernel set
# the way the addon does, by its table).
#   test/asan/run.sh [SET...]     (default: the sets the built addon says this CPU runs)
# Environment: IMIX_FUZZ_CASES (geometries per set and thread count, default 400),
# IMIX_FUZZ_SEED (default 1), IMIX_ASAN_DIR (default build-asan).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${IMIX_ASAN_DIR:-$root/build-asan}"
sets=("$@")
if [ "${#sets[@]}" -eq 0 ]; then
  read -r -a sets <<<"$(cd "$root" && node -p "require('./dist/lib/index.js').info().cpuKernelSets.join(' ')")"
fi
san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
list="$(IFS=';'; echo "${sets[*]}")"
cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Release -DIMIX_CUDA=OFF -DIMIX_CPU_SETS="$list" \
  -DCMAKE_CXX_FLAGS="${san[*]}" -DCMAKE_SHARED_LINKER_FLAGS="${san[*]}" -DCMAKE_MODULE_LINKER_FLAGS="${san[*]}" >/dev/null
targets=()
for s in "${sets[@]}"; do targets+=("imix-cpu-$s"); done
cmake --build "$out" --parallel "${JOBS:-2}" --target "${targets[@]}" >/dev/null
# The harness itself uninstrumented (its double loops are most of the time),
# linked with the sanitizers' runtimes, which watch every heap block.
g++ -std=c++17 -O2 -g -I "$root" -c "$here/kernel_fuzz.cpp" -o "$out/kernel_fuzz.o"
g++ "${san[@]}" "$out/kernel_fuzz.o" -o "$out/kernel_fuzz" -ldl
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
for s in "${sets[@]}"; do
  so="$(find "$out" -name "imix-cpu-$s.so" -print -quit)"
  [ -n "$so" ] || { echo "asan: imix-cpu-$s.so not built" >&2; exit 1; }
  # Two thread counts: the kernels' sample chunks and slices differ.
  for threads in 1 2; do
    T=$threads "$out/kernel_fuzz" "$so" "${IMIX_FUZZ_CASES:-400}" "${IMIX_FUZZ_SEED:-1}"
  done
done
