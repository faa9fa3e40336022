#!/usr/bin/env bash
# Packs what a run on a lent GPU machine needs to build and test imix's CUDA
# backend, into .gpu/ (git-ignored). Those machines (the `device` tool) have
# nvcc, CMake, compute-sanitizer and PyTorch but no Node.js and no network,
# and they receive only the working tree plus up to 8 carried paths (64 MiB in
# all). So the kit holds:
#   .gpu/node.xz                this machine's Node.js binary (x86-64, glibc)
#   .gpu/node_modules.tar.xz    node_modules, less typedoc and its themes
#   .gpu/dist.tar               the compiled TypeScript (dist/)
# Build it here, then carry `.gpu` in the device run and start
# scripts/gpu-session.sh there (docs/cuda.md, "On a lent GPU machine").
#
#   scripts/gpu-kit.sh          # ~40 MB; prints the sizes
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || { echo "gpu-kit: run npm ci first" >&2; exit 1; }
npx tsc -p tsconfig.json
rm -rf .gpu.tmp
mkdir -p .gpu.tmp
xz -T0 -6 -c "$(command -v node)" >.gpu.tmp/node.xz
# typedoc only builds the API docs; its syntax-highlighting themes are most of its weight.
tar -cf - --exclude=node_modules/typedoc --exclude=node_modules/@shikijs --exclude=node_modules/.cache node_modules |
  xz -T0 -6 >.gpu.tmp/node_modules.tar.xz
tar -cf .gpu.tmp/dist.tar dist
# Swap in whole, so an interrupted run never leaves a half-written kit behind.
rm -rf .gpu
mv .gpu.tmp .gpu
du -h .gpu/*
echo "gpu-kit: total $(du -sh .gpu | cut -f1) (the device run carries at most 64 MiB with the working tree)"
