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
objs=()
pids=()
for f in "$out"/native/cuda/*.cpp "$out"/native/cpu/*.cpp "$here/kernels_test.cpp" "$here/device_test.cpp"; do
  b="$(basename "$(dirname "$f")")_$(basename "$f" .cpp)"
  case "$b" in cpu_backend) continue ;; esac
  o="$out/obj/$b.o"
  objs+=("$o")
  "$CXX" "${flags[@]}" -c "$f" -o "$o" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "${JOBS:-2}" ]; then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
# Two programs: the kernels against the CPU kernels, and the device layer
# against the fake runtime.
kobjs=() dobjs=()
for o in "${objs[@]}"; do
  case "$(basename "$o")" in
    cuda_device_emu.o | cuda_cuda_fake.o | emulate_device_test.o) dobjs+=("$o") ;;
    *) kobjs+=("$o") ;;
  esac
done
"$CXX" -pthread "${kobjs[@]}" -ldl -o "$out/kernels_test"
"$CXX" -pthread "${dobjs[@]}" -o "$out/device_test"
"$out/kernels_test"
"$out/device_test"
# A fake libcublas for the emulated addon build (IMIX_CUBLAS=$out/libfakecublas.so).
"$CXX" -std=c++17 -O1 -shared -fPIC "$here/fake_cublas.cpp" -o "$out/libfakecublas.so"
