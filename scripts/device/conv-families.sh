#!/usr/bin/env bash
# One device call that checks the CUDA kernels of the convolutional families
# (native/cuda/conv.cu, pool.cu, batchnorm.cu's batchnorm2d, elementwise.cu's
# add_relu_forward) on a real GPU: scripts/device-check.sh narrowed to them.
#   test      their CPU/CUDA parity tests (test/cuda/parity.test.ts: conv2d with
#             cuBLAS and with the tiled gemm, conv1d, BatchNorm2d ± ReLU, max-pool,
#             global average pool, add+ReLU)
#   bench     their rows of bench/cuda-kernels.ts (CIFAR ResNet-18 sizes), with
#             PyTorch's time for the same work when torch has CUDA
#   sanitize  their steps of bench/cuda-workload.ts under compute-sanitizer
#             memcheck and racecheck (exact-size allocations, a sync per launch)
# after setup and build; the logs and summary go to $OUT as device-check.sh says.
#
# Here first (the kit holds dist/; it is compiled again there if the TypeScript changed):
#   scripts/prepare-device-carry.sh
# then one call of the device tool:
#   run  command: scripts/device/conv-families.sh   carry: [".gpu"]   timeout_s: 600
# and stages as arguments for a part of it, e.g. `scripts/device/conv-families.sh sanitize`.
set -uo pipefail
cd "$(dirname "$0")/../.."
export TEST_FILTER='conv family|BatchNorm2d and pooling'
export IMIX_WORKLOAD_FILTER='conv|pool|BatchNorm2d'
export IMIX_BENCH_FILTER='^(conv|batchnorm2d|maxpool|avgpool)'
exec scripts/device-check.sh "$@"
