#!/usr/bin/env bash
# The GPU check of imix's CUDA backend, in ONE call of the `device` tool on a
# bare machine (nvcc, CMake, compute-sanitizer and PyTorch there; no Node.js,
# no network), sized to the time left. Here first:
#   scripts/prepare-device-carry.sh        # .gpu/: node, node_modules, dist
# then one call (docs/cuda.md, "Running on a lent GPU"):
#   run  command: TIME_BUDGET_S=540 scripts/device-check.sh   carry: [".gpu"]   timeout_s: 600
#
# Stages, in this order (arguments choose some: `scripts/device-check.sh
# build test`; setup always runs first):
#   setup     Node.js, node_modules and dist/ from .gpu/ (no npx, no network;
#             dist/ is compiled again when the TypeScript changed since the
#             carry was prepared); reports the GPU, nvcc, compute-sanitizer,
#             PyTorch, and finds libcublas (the CUDA toolkit, then the PyTorch
#             wheel's nvidia/*/lib, then ldconfig) for the toolkit's CUDA major
#   build     the addon with nvcc (IMIX_CUDA=ON, for this GPU's architecture
#             only), into $IMIX_BUILD_DIR (default build-device); FAILS unless a
#             gemm on the device ran through cuBLAS (IMIX_CUBLAS=<the library found>)
#   test      vitest test/cuda (the CPU/CUDA parity suite and the debug modes;
#             the rest of the suite is CPU and runs in CI)
#   bench     bench/cuda-kernels (imix first, then PyTorch on the same GPU):
#             $OUT/cuda-kernels.json and cuda-kernels.md
#   sanitize  compute-sanitizer memcheck, then racecheck, over
#             dist/bench/cuda-workload.js (every kernel family once, small) with
#             IMIX_CUDA_NO_CACHE=1 (exact-size allocations) and
#             IMIX_CUDA_SYNC_LAUNCH=1 (a fault names its kernel)
#
# Time: the whole run keeps within TIME_BUDGET_S seconds (default 540, for a
# call of timeout_s 600). Each stage has a minimum (MIN_<STAGE>_S: setup 20,
# build 90, test 60, bench 60, sanitize 60). Earlier stages come first: a
# stage runs, under `timeout`, for at most what is left less the minimums of
# the later stages that still fit after its own, and is skipped, with a note,
# when its own minimum no longer fits. A stage that fails does not stop the
# later ones (except build: nothing runs without it).
#
# Output: $OUT (the device tool's; default ./gpu-out): summary.txt (a line per
# stage), setup.log, build.log, test.log, bench.log, cuda-kernels.json,
# cuda-kernels.md, sanitize.log: the 8 files a call brings back. The end of
# stdout repeats the summary and the tail of each failed stage's log.
# Exit status: 0 when every stage asked for passed, 1 otherwise.
#
# REHEARSE=1 (here, no GPU): the same stages and $OUT layout against the
# emulated device: build makes the emulated addon (IMIX_CUDA_EMULATE=ON,
# default IMIX_BUILD_DIR=build-emu-dev) instead of using nvcc, with the fake
# libcublas of test/cuda/emulate standing in for cuBLAS; bench is a smoke run
# (no PyTorch); sanitize runs the workload with both debug modes but without
# compute-sanitizer. To rehearse the bare machine too, run it in a copy of
# what a call sends (docs/cuda.md shows how).
#
# Narrower runs (scripts/device/*.sh, one kernel family): TEST_FILTER (vitest
# -t) narrows test, IMIX_BENCH_FILTER (a regex over case names) bench, and
# IMIX_WORKLOAD_FILTER (a regex over step names) sanitize.
#
#   scripts/device-check.sh --fingerprint    # the TypeScript sources' hash (prepare-device-carry.sh)
set -uo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."
root="$PWD"

# The fingerprint of the sources dist/lib and dist/bench are compiled from.
fingerprint() {
  { find lib bench -type f -name '*.ts' | LC_ALL=C sort | xargs sha256sum; sha256sum tsconfig.json; } | sha256sum | cut -d' ' -f1
}
if [ "${1:-}" = --fingerprint ]; then
  fingerprint
  exit 0
fi

REHEARSE="${REHEARSE:-0}"
[ "$REHEARSE" = 1 ] && default_build=build-emu-dev || default_build=build-device
export IMIX_BUILD_DIR="${IMIX_BUILD_DIR:-$default_build}"
OUT="${OUT:-$root/gpu-out}"
mkdir -p "$OUT"
export OUT REHEARSE
# What setup finds, for the later stages (and a later call on a warm machine).
state=/tmp/imix-device-check
mkdir -p "$state"
export NO_COLOR=1 FORCE_COLOR=0
[ -d /usr/local/cuda/bin ] && PATH="/usr/local/cuda/bin:$PATH"
export PATH="$state/node/bin:$PATH"
export IMIX_PYTHON="${IMIX_PYTHON:-$(command -v python3 || echo /usr/bin/python3)}"

note() { echo "device-check: $*"; }

# ---- the stages (each runs as `device-check.sh __stage NAME` under timeout) ----

# xz -d, or Python's lzma where xz is missing.
unxz_to() {  # SRC DST
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else "$IMIX_PYTHON" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
untar_xz() {  # SRC (into the current folder)
  if command -v xz >/dev/null; then tar -xJf "$1"; else "$IMIX_PYTHON" -c 'import tarfile, sys; tarfile.open(sys.argv[1], "r:xz").extractall(".")' "$1"; fi
}

stage_setup() {
  local ok=0
  # Node.js: the carried binary (the one node_modules was packed with), else one on PATH.
  if [ -f .gpu/node.xz ]; then
    if [ ! -x "$state/node/bin/node" ] || [ "$(sha256sum <"$state/node/bin/node" | cut -d' ' -f1)" != "$(cat .gpu/node.sha256 2>/dev/null)" ]; then
      mkdir -p "$state/node/bin"
      unxz_to .gpu/node.xz "$state/node/bin/node.tmp" && chmod +x "$state/node/bin/node.tmp" && mv "$state/node/bin/node.tmp" "$state/node/bin/node" || { echo "cannot unpack .gpu/node.xz"; return 1; }
    fi
  fi
  hash -r
  if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    echo "no Node.js >= 20 and no .gpu/node.xz: run scripts/prepare-device-carry.sh here and carry .gpu"
    return 1
  fi
  echo "node $(node --version) ($(command -v node))"
  # node_modules: unpacked from the carry when absent, or when an earlier
  # unpacking (its stamp) is not this carry's; a node_modules someone
  # installed (no stamp) is left alone.
  if [ -f .gpu/node_modules.tar.xz ]; then
    local want; want="$(cat .gpu/node_modules.sha256 2>/dev/null)"
    if [ ! -d node_modules ] || { [ -f node_modules/.imix-carry ] && [ "$(cat node_modules/.imix-carry)" != "$want" ]; }; then
      rm -rf node_modules
      untar_xz .gpu/node_modules.tar.xz || { echo "cannot unpack .gpu/node_modules.tar.xz"; return 1; }
      echo "$want" >node_modules/.imix-carry
      echo "node_modules: unpacked from .gpu ($(ls node_modules | wc -l) entries)"
    else
      echo "node_modules: present$([ -f node_modules/.imix-carry ] && echo ' (this carry)' || echo ' (installed here, kept)')"
    fi
  fi
  for m in vitest cmake-js node-addon-api; do [ -d "node_modules/$m" ] || { echo "node_modules/$m is missing"; ok=1; }; done
  # dist/: the carried build when the sources are the ones it was compiled
  # from, else compiled here.
  local fp; fp="$(fingerprint)"
  if [ -f .gpu/dist.tar.xz ] && [ "$fp" = "$(cat .gpu/dist.sha256 2>/dev/null)" ]; then
    if [ "$(cat dist/.imix-fingerprint 2>/dev/null)" != "$fp" ]; then
      untar_xz .gpu/dist.tar.xz || { echo "cannot unpack .gpu/dist.tar.xz"; return 1; }
      echo "$fp" >dist/.imix-fingerprint
    fi
    echo "dist: the carried build (the TypeScript is unchanged since prepare-device-carry.sh)"
  elif [ "$(cat dist/.imix-fingerprint 2>/dev/null)" = "$fp" ]; then
    echo "dist: compiled here earlier from these sources"
  else
    [ -f .gpu/dist.tar.xz ] && echo "dist: the TypeScript changed since the carry was prepared: compiling it here"
    node node_modules/typescript/bin/tsc -p tsconfig.json || { echo "tsc failed"; return 1; }
    echo "$fp" >dist/.imix-fingerprint
    echo "dist: compiled here"
  fi
  [ -f dist/bench/cuda-workload.js ] || { echo "dist/bench/cuda-workload.js is missing"; ok=1; }

  echo "cmake: $(cmake --version 2>/dev/null | head -1 || echo missing)"
  : >"$state/env"
  if [ "$REHEARSE" = 1 ]; then
    echo "REHEARSAL: the emulated device (build $IMIX_BUILD_DIR); no nvcc, GPU, compute-sanitizer or PyTorch needed"
    if [ -n "${IMIX_CUBLAS:-}" ]; then
      echo "libcublas (rehearsal): IMIX_CUBLAS=$IMIX_CUBLAS, as given"
      return $ok
    fi
    # The fake libcublas of test/cuda/emulate stands in for cuBLAS.
    ${CXX:-g++} -std=c++17 -O1 -shared -fPIC test/cuda/emulate/fake_cublas.cpp -o "$state/libfakecublas.so" || { echo "cannot build the fake libcublas"; return 1; }
    echo "export IMIX_CUBLAS=$state/libfakecublas.so" >>"$state/env"
    echo "libcublas (rehearsal): $state/libfakecublas.so"
    return $ok
  fi
  echo "nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo MISSING)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm --format=csv 2>&1 || { echo "nvidia-smi failed"; ok=1; }
  echo "compute-sanitizer: $(compute-sanitizer --version 2>/dev/null | grep -o 'Version.*' | head -1 || echo MISSING)"
  echo "python for PyTorch: $IMIX_PYTHON ($("$IMIX_PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -1))"
  # The GPU's architecture: compile for it alone (a third of the default's time).
  local cc; cc="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')"
  [[ "$cc" =~ ^[0-9]+$ ]] && echo "export IMIX_CUDA_ARCHITECTURES=${cc}-real" >>"$state/env"
  # libcublas for the toolkit's CUDA major (the runtime the addon links statically).
  local major; major="$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9]*\)\..*/\1/p' | head -1)"
  local lib=""
  if [ -n "${IMIX_CUBLAS:-}" ]; then
    lib="$IMIX_CUBLAS"
  else
    local dirs=() nvcc_dir
    nvcc_dir="$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")"
    dirs+=("$nvcc_dir/../lib64" "$nvcc_dir/../targets/x86_64-linux/lib" "${CUDA_HOME:-/usr/local/cuda}/lib64" /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)
    # PyTorch's wheels: nvidia/cublas/lib (CUDA 12) or nvidia/cu13/lib (CUDA 13), and torch/lib.
    while IFS= read -r d; do [ -n "$d" ] && dirs+=("$d"); done < <("$IMIX_PYTHON" -c '
import importlib.util, os
for name in ("nvidia", "torch"):
    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        continue
    for p in (spec.submodule_search_locations or []) if spec else []:
        print(p)' 2>/dev/null)
    for d in "${dirs[@]}"; do
      [ -d "$d" ] || continue
      lib="$(find "$d" -maxdepth 3 -name "libcublas.so.${major:-13}*" ! -name '*Lt*' 2>/dev/null | sort | head -1)"
      [ -n "$lib" ] && break
    done
    [ -z "$lib" ] && lib="$(ldconfig -p 2>/dev/null | awk -v m="libcublas.so.${major:-13}" '$1 == m { print $NF; exit }')"
  fi
  if [ -n "$lib" ] && [ -f "$lib" ]; then
    lib="$(readlink -f "$lib")"
    echo "libcublas: $lib (CUDA ${major:-?})"
    # Its libcublasLt lies beside it.
    echo "export IMIX_CUBLAS=$lib" >>"$state/env"
    echo "export LD_LIBRARY_PATH=$(dirname "$lib")\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" >>"$state/env"
  else
    echo "libcublas.so.${major:-?} NOT FOUND in the CUDA toolkit, the PyTorch wheel or ldconfig: the build stage will fail (set IMIX_CUBLAS)"
    ok=1
  fi
  return $ok
}

# Fails unless the addon has a usable (real or, rehearsing, emulated) device
# and a gemm there ran through cuBLAS.
check_addon() {
  node - <<'EOF'
const imix = require('./dist/lib/index.js');
const rehearse = process.env.REHEARSE === '1';
let c = imix.info().cuda;
console.log(`addon ${process.env.IMIX_BUILD_DIR}: compiled ${c.compiled}, runtime ${c.runtime}, driver ${c.driver}, devices ${JSON.stringify(c.devices)}`);
if (!imix.cudaAvailable()) { console.error(`no usable CUDA device: ${c.reason}`); process.exit(1); }
if (!!c.emulated !== rehearse) { console.error(rehearse ? 'REHEARSE=1 but this addon is not the emulated one' : 'this addon is the CPU emulation of CUDA, not a GPU build'); process.exit(1); }
// The cuBLAS handle is made at the first gemm: run one, against the CPU.
const { Tensor, ops } = imix;
const a = Float32Array.from({ length: 96 * 80 }, (_, i) => Math.sin(i)), b = Float32Array.from({ length: 80 * 72 }, (_, i) => Math.cos(i));
const run = (device) => { const C = Tensor.zeros([96, 72], { device }); ops.gemm(Tensor.from(a, [96, 80], { device }), Tensor.from(b, [80, 72], { device }), C); return C.toArray(); };
const g = run('cuda'), h = run('cpu');
let err = 0;
for (let i = 0; i < g.length; i++) err = Math.max(err, Math.abs(g[i] - h[i]) / (1 + Math.abs(h[i])));
c = imix.info().cuda;
console.log(`gemm: ${c.gemm} (${c.gemmDetail}); max relative difference from the CPU ${err.toExponential(2)}`);
if (c.gemm !== 'cublas') { console.error(`FAIL: gemm is not cuBLAS: ${c.gemmDetail}`); process.exit(1); }
if (!(err < 1e-4)) { console.error('FAIL: the device gemm does not match the CPU'); process.exit(1); }
EOF
}

stage_build() {
  if [ "$REHEARSE" = 1 ]; then
    IMIX_CUDA=OFF IMIX_CUDA_EMULATE=ON node scripts/build-native.js || return 1
  else
    echo "IMIX_CUDA_ARCHITECTURES=${IMIX_CUDA_ARCHITECTURES:-(the default: sm_80, sm_90, compute_90)}"
    # Not --force: a warm machine's earlier build is reused where it still fits.
    IMIX_CUDA=ON node scripts/build-native.js || return 1
  fi
  check_addon
}

stage_test() {
  if [ -n "${TEST_FILTER:-}" ]; then
    node node_modules/vitest/vitest.mjs run test/cuda -t "$TEST_FILTER"
  else
    node node_modules/vitest/vitest.mjs run test/cuda
  fi
}

stage_bench() {
  local smoke=0
  [ "$REHEARSE" = 1 ] && smoke=1
  # The PyTorch part ends in time for the results to be written.
  IMIX_BENCH_OUT="$OUT" IMIX_BENCH_SMOKE="${IMIX_BENCH_SMOKE:-$smoke}" IMIX_BENCH_DEADLINE="$STAGE_DEADLINE" node dist/bench/cuda-kernels.js
}

stage_sanitize() {
  export IMIX_CUDA_NO_CACHE=1 IMIX_CUDA_SYNC_LAUNCH=1
  if [ "$REHEARSE" = 1 ]; then
    echo "REHEARSAL: compute-sanitizer is not run; the workload runs once with IMIX_CUDA_NO_CACHE=1 IMIX_CUDA_SYNC_LAUNCH=1"
    node dist/bench/cuda-workload.js
    return
  fi
  local cs; cs="${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)}"
  [ -x "$cs" ] || { echo "compute-sanitizer not found"; return 1; }
  local status=0 t0 tool left limit
  for tool in memcheck racecheck; do
    t0=$(date +%s)
    left=$((STAGE_DEADLINE - t0))
    # memcheck gets half of what is left, racecheck the rest.
    [ "$tool" = memcheck ] && limit=$((left / 2)) || limit=$((left - 5))
    if [ "$limit" -lt 20 ]; then
      echo "== $tool: SKIPPED (${left}s left)"
      status=1
      continue
    fi
    echo "== compute-sanitizer --tool $tool (at most ${limit}s)"
    local opts=(--tool "$tool" --error-exitcode 99 --print-limit 50)
    [ "$tool" = memcheck ] && opts+=(--leak-check no)
    timeout -k 5 "$limit" "$cs" "${opts[@]}" node dist/bench/cuda-workload.js
    local rc=$?
    case $rc in
      0) echo "== $tool: clean ($(($(date +%s) - t0))s)" ;;
      99) echo "== $tool: ERRORS (see above)"; status=1 ;;
      124 | 137) echo "== $tool: STOPPED after ${limit}s"; status=1 ;;
      *) echo "== $tool: failed (exit $rc)"; status=1 ;;
    esac
  done
  return $status
}

if [ "${1:-}" = __stage ]; then
  # What setup found (setup itself starts from the caller's environment: a
  # warm machine's file from an earlier call must not stand in for it).
  # shellcheck disable=SC1091
  [ "$2" != setup ] && [ -f "$state/env" ] && . "$state/env"
  "stage_$2"
  exit $?
fi

# ---- the run ------------------------------------------------------------------

started=$(date +%s)
budget="${TIME_BUDGET_S:-540}"
all=(setup build test bench sanitize)
declare -A min=([setup]="${MIN_SETUP_S:-20}" [build]="${MIN_BUILD_S:-90}" [test]="${MIN_TEST_S:-60}" [bench]="${MIN_BENCH_S:-60}" [sanitize]="${MIN_SANITIZE_S:-60}")
want=(setup)
for a in "$@"; do
  case " ${all[*]} " in *" $a "*) [ "$a" != setup ] && want+=("$a") ;; *) echo "device-check: unknown stage '$a' (${all[*]})" >&2; exit 2 ;; esac
done
[ $# -eq 0 ] && want=("${all[@]}")
# A fresh machine has no build: every later stage needs one.
if [ ${#want[@]} -gt 1 ] && [[ " ${want[*]} " != *" build "* ]] && [ ! -f "$IMIX_BUILD_DIR/Release/imix.node" ]; then want=(setup build "${want[@]:1}"); fi

# This run's files only (a device call empties $OUT; elsewhere an earlier run's may be there).
for f in summary.txt setup.log build.log test.log bench.log sanitize.log cuda-kernels.json cuda-kernels.md; do rm -f "$OUT/$f"; done
{
  echo "device-check $(date -u +%FT%TZ): stages ${want[*]}; TIME_BUDGET_S=$budget; IMIX_BUILD_DIR=$IMIX_BUILD_DIR$([ "$REHEARSE" = 1 ] && echo '; REHEARSAL on the emulated device')"
  echo "tree: commit $(git rev-parse --short HEAD 2>/dev/null || echo '? (no .git)')$(git status --porcelain 2>/dev/null | grep -q . && echo ' + local changes'); TypeScript sources $(fingerprint | cut -c1-12)"
} | tee "$OUT/summary.txt"
status=0
failed=()
build_failed=0
for i in "${!want[@]}"; do
  s="${want[$i]}"
  now=$(date +%s)
  left=$((budget - (now - started)))
  # Earlier stages come first: keep back the minimums of the later stages
  # only as far as they fit after this one's own minimum.
  reserve=0
  spare=$((left - ${min[$s]}))
  for later in "${want[@]:$((i + 1))}"; do
    [ "$spare" -ge "${min[$later]}" ] || break
    reserve=$((reserve + ${min[$later]}))
    spare=$((spare - ${min[$later]}))
  done
  limit=$((left - reserve))
  ran=0
  if [ "$build_failed" = 1 ] && [ "$s" != setup ]; then
    line="$s: SKIPPED (the build failed)"
  elif [ "$limit" -lt "${min[$s]}" ]; then
    line="$s: SKIPPED: ${left}s of TIME_BUDGET_S=$budget left, it needs ${min[$s]}s (MIN_${s^^}_S)"
  else
    note "$s (at most ${limit}s) ..."
    ran=1
    STAGE_DEADLINE=$((now + limit)) timeout -k 10 "$limit" bash "$self" __stage "$s" >"$OUT/$s.log" 2>&1
    rc=$?
    took=$(($(date +%s) - now))
    case $rc in
      0) line="$s: ok in ${took}s" ;;
      124 | 137) line="$s: STOPPED at its ${limit}s limit"; echo "device-check: $s stopped at its ${limit}s limit (TIME_BUDGET_S=$budget)" >>"$OUT/$s.log" ;;
      *) line="$s: FAILED (exit $rc) in ${took}s" ;;
    esac
    [ $rc -eq 0 ] || failed+=("$s")
    [ $rc -ne 0 ] && [ "$s" = build ] && build_failed=1
  fi
  case "$line" in *": ok in"*) ;; *) status=1 ;; esac
  # One line per stage, with what matters from its log.
  case "$s" in
    setup) extra="$(grep -m1 -E '^(node v|no Node)' "$OUT/setup.log" 2>/dev/null); $(grep -m1 -E '^libcublas' "$OUT/setup.log" 2>/dev/null)" ;;
    build) extra="$(grep -m1 -E '^gemm:|FAIL' "$OUT/build.log" 2>/dev/null)" ;;
    test) extra="$(grep -E '^ *Tests ' "$OUT/test.log" 2>/dev/null | tail -1 | sed 's/^ *//')" ;;
    bench) extra="$(grep -m1 -E '^device-to-device copy' "$OUT/bench.log" 2>/dev/null); $(grep -m1 -E '^reference' "$OUT/bench.log" 2>/dev/null)" ;;
    sanitize) extra="$(grep -E '^== (memcheck|racecheck): |ERROR SUMMARY|^cuda-workload: [0-9]' "$OUT/sanitize.log" 2>/dev/null | tr '\n' ';' | sed 's/;$//')" ;;
  esac
  [ "$ran" = 1 ] && [ -n "${extra//[; ]/}" ] && line="$line — $extra"
  echo "$line" | tee -a "$OUT/summary.txt"
done
echo "device-check: $(($(date +%s) - started))s of TIME_BUDGET_S=$budget; $([ $status -eq 0 ] && echo 'all stages passed' || echo 'NOT all stages passed')" | tee -a "$OUT/summary.txt"
for s in "${failed[@]}"; do
  echo
  echo "---- the end of $s.log ----"
  tail -n 40 "$OUT/$s.log"
done
echo
echo "results in $OUT: $(cd "$OUT" && ls | tr '\n' ' ')"
exit $status
