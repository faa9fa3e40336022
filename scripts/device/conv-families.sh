#!/usr/bin/env bash
# One device call that checks the CUDA kernels of the convolutional families
# (native/cuda/conv.cu, pool.cu, batchnorm.cu's batchnorm2d, elementwise.cu's
# add_relu_forward) on a real GPU, in the order that matters if time runs out:
#   setup     Node.js, node_modules and dist from .gpu/ (scripts/gpu-kit.sh)
#   build     the addon with nvcc (IMIX_CUDA=ON)
#   parity    their CPU/CUDA parity tests (test/cuda/parity.test.ts: conv2d with
#             cuBLAS and with the tiled gemm, conv1d, BatchNorm2d ± ReLU, max-pool,
#             global average pool, add+ReLU)
#   bench     their rows of bench/cuda-kernels.ts (CIFAR ResNet-18 sizes), with
#             PyTorch's time for the same work when torch has CUDA
#   sanitize  the same parity tests under compute-sanitizer memcheck, racecheck
#             and synccheck (scripts/cuda-sanitize.sh)
# Each phase logs to $OUT/<phase>.log with a line in $OUT/summary.txt
# (scripts/gpu-session.sh); the run stops itself after GPU_SESSION_SECONDS
# (default 560) so the logs come back even if something hangs.
#
# Here first (the kit holds dist/, so rebuild it after changing bench/ or lib/):
#   npm ci && scripts/gpu-kit.sh
# then one call of the device tool:
#   run  command: scripts/device/conv-families.sh   carry: [".gpu"]   timeout_s: 600
# and, if a phase was cut short, the phases left, e.g.:
#   run  command: scripts/device/conv-families.sh sanitize   carry: [".gpu"]
set -uo pipefail
cd "$(dirname "$0")/../.."
export GPU_TEST_FILTER='conv family|BatchNorm2d and pooling'
export SANITIZE_FILTER="$GPU_TEST_FILTER"
export IMIX_BENCH_FILTER='^(conv|batchnorm2d|maxpool|avgpool)'
export GPU_SESSION_SECONDS="${GPU_SESSION_SECONDS:-560}"
phases=("$@")
[ ${#phases[@]} -gt 0 ] || phases=(setup build parity bench sanitize)
# setup is cheap and idempotent; a fresh machine (the last one was given
# back) has no build, which every later phase needs.
[ "${phases[0]}" = setup ] || phases=(setup "${phases[@]}")
if [[ " ${phases[*]} " != *" build "* ]] && [ ! -f "${IMIX_BUILD_DIR:-build}/Release/imix.node" ]; then
  phases=(setup build "${phases[@]:1}")
fi
exec scripts/gpu-session.sh "${phases[@]}"
