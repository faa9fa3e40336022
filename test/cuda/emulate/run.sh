#!/usr/bin/env bash
# Runs imix's CUDA kernels on the CPU through the emulation in emu.h and
# compares them with the CPU kernels (kernels_test.cpp). Needs only g++ (C++20)
# and python3: no GPU, no CUDA toolkit. CI runs it beside the CUDA build.
#   test/cuda/emulate/run.sh [BUILD_DIR]     (default build-cuda-emu)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$root/build-cuda-emu}"
rm -rf "$out/obj"
mkdir -p "$out/obj"
python3 "$here/prepare.py" "$root" "$out"
CXX="${CXX:-g++}"
flags=(-std=c++17 -O1 -pthread -w -I "$out/native/cuda" -I "$out")
# IMIX_EMU_SANITIZE=address (or address,undefined): every program built with
# those sanitizers, so an index past a buffer in a CUDA kernel (each emulated
# cudaMalloc is its own exact-size heap block) or a CPU kernel stops the run.
link=()
if [ -n "${IMIX_EMU_SANITIZE:-}" ]; then
  flags+=(-fsanitize="$IMIX_EMU_SANITIZE" -fno-omit-frame-pointer -fno-sanitize-recover=all)
  link+=(-fsanitize="$IMIX_EMU_SANITIZE")
fi
# The kernels are also built with every grid cap (native/cuda/common.cuh)
# lowered to 2, so that the small inputs of kernels_test run several
# iterations of every grid-stride loop in a block (rows, row tiles, column
# chunks), as millions of rows do on a GPU; 2, not 1, keeps two blocks, whose
# order the schedules still vary.
tiny=(-DIMIX_CUDA_TEST_GRID_CAP=2)
objs=()
pids=()
compile() {  # SRC OBJ [FLAGS...], at most JOBS at a time
  local f="$1" o="$2"
  shift 2
  objs+=("$o")
  "$CXX" "${flags[@]}" "$@" -c "$f" -o "$o" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "${JOBS:-2}" ]; then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
}
for f in "$out"/native/cuda/*.cpp "$out"/native/cpu/*.cpp "$here/kernels_test.cpp" "$here/device_test.cpp" "$here/order_test.cpp"; do
  b="$(basename "$(dirname "$f")")_$(basename "$f" .cpp)"
  case "$b" in cpu_backend) continue ;; esac
  compile "$f" "$out/obj/$b.o"
  case "$b" in
    cuda_device_emu | cuda_cuda_fake) ;;
    cuda_* | emulate_kernels_test) compile "$f" "$out/obj/tiny_$b.o" "${tiny[@]}" ;;
  esac
done
for p in "${pids[@]}"; do wait "$p"; done
# Four programs: the kernels against the CPU kernels (with the production
# grid caps and with tiny ones), the device layer against the fake runtime,
# and the test of the race detector itself.
kobjs=() tobjs=() dobjs=()
for o in "${objs[@]}"; do
  case "$(basename "$o")" in
    cuda_device_emu.o | cuda_cuda_fake.o | emulate_device_test.o) dobjs+=("$o") ;;
    emulate_order_test.o) ;;
    tiny_*) tobjs+=("$o") ;;
    cuda_* | emulate_kernels_test.o) kobjs+=("$o") ;;
    *) kobjs+=("$o") tobjs+=("$o") ;;
  esac
done
"$CXX" -pthread "${link[@]}" "${kobjs[@]}" -ldl -o "$out/kernels_test"
"$CXX" -pthread "${link[@]}" "${tobjs[@]}" -ldl -o "$out/kernels_test_tiny_grids"
"$CXX" -pthread "${link[@]}" "${dobjs[@]}" -o "$out/device_test"
"$CXX" -pthread "${link[@]}" "$out/obj/emulate_order_test.o" -o "$out/order_test"
# The schedules (emu.h): a kernel whose result depends on the order of a
# block's threads, of its warps or of a grid's blocks has a race. order_test
# checks that these schedules catch deliberate races (its list is this one);
# then every kernel runs under each. An entry is ORDER[:SEED][+skew];
# IMIX_EMU_SCHEDULES overrides the list (e.g. more seeds when hunting).
"$out/order_test"
failed=()
for sched in ${IMIX_EMU_SCHEDULES:-forward reverse shuffle:1 shuffle:2 forward+skew reverse+skew shuffle:3+skew}; do
  order="${sched%+skew}"
  skew=0
  [ "$order" != "$sched" ] && skew=1
  seed="${order#*:}"
  [ "$seed" = "$order" ] && seed=1
  for prog in kernels_test kernels_test_tiny_grids device_test; do
    IMIX_EMU_ORDER="${order%%:*}" IMIX_EMU_SEED="$seed" IMIX_EMU_SKEW="$skew" "$out/$prog" || failed+=("$prog under $sched")
  done
done
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'run.sh: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
# A fake libcublas for the emulated addon build (IMIX_CUBLAS=$out/libfakecublas.so).
"$CXX" -std=c++17 -O1 -shared -fPIC "$here/fake_cublas.cpp" -o "$out/libfakecublas.so"
