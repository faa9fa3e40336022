#!/usr/bin/env node
// Builds the native addon with cmake-js (run by `npm install`).
// Skips the build when a prebuilt addon for this platform is already present,
// unless --force is given. Extra CMake options come from the environment:
//   IMIX_BLAS=AUTO|ON|OFF   IMIX_CUDA=AUTO|ON|OFF   IMIX_NATIVE_ARCH=ON|OFF   IMIX_BUILD_DIR=build
//   IMIX_CPU_SETS='baseline;avx2;avx512'   (the CPU kernel sets to compile; fewer build faster)
//   IMIX_CUDA_ARCHITECTURES=90-real   (CMAKE_CUDA_ARCHITECTURES: only the GPU at hand, a faster
//                                      build; default sm_80, sm_90 and compute_90 PTX)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const force = process.argv.includes('--force');
const outDir = process.env.IMIX_BUILD_DIR || 'build';
const addon = path.join(root, outDir, 'Release', 'imix.node');

if (!force && fs.existsSync(addon) && !process.env.IMIX_BLAS && !process.env.IMIX_CUDA) {
  console.log(`imix: native addon present (${path.relative(root, addon)}); use npm run build:native to rebuild`);
  process.exit(0);
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const args = [cmakeJs, 'build', '--out', outDir, '--parallel', String(require('node:os').availableParallelism?.() ?? 2)];
for (const opt of ['IMIX_BLAS', 'IMIX_NATIVE_ARCH', 'IMIX_CPU_SETS', 'IMIX_OPENMP', 'IMIX_CUDA', 'IMIX_CUDA_EMULATE']) {
  if (process.env[opt]) args.push(`--CD${opt}=${process.env[opt]}`);
}
if (process.env.IMIX_CUDA_ARCHITECTURES) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.IMIX_CUDA_ARCHITECTURES}`);
// Node's own headers (Debian/nodesource ship them under the install prefix):
// no download needed when npm was told where they are.
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('imix: native build failed. Needs cmake >= 3.18 and a C++17 compiler; see docs/troubleshooting.md');
  process.exit(r.status ?? 1);
}
