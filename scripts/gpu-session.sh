#!/usr/bin/env bash
# Everything a lent GPU machine is for, in as few calls as possible: build the
# addon with CUDA, run the CPU/CUDA parity suite and the whole test suite on
# it, the CUDA benchmark, and compute-sanitizer. Made for the `device` tool's
# machines (no Node.js, no network: scripts/gpu-kit.sh packs what is missing
# into .gpu/, which the run carries), and usable on any CUDA machine.
#
#   scripts/gpu-session.sh                    # setup build test bench
#   scripts/gpu-session.sh sanitize           # compute-sanitizer (slow: a call of its own)
#   scripts/gpu-session.sh setup build test   # any subset, in this order
#   scripts/gpu-session.sh setup build parity # the parity suite (test/cuda) alone
#
# Filters for a short run on one kernel family (scripts/device/ has such runs):
# GPU_TEST_FILTER (vitest -t) narrows the parity phase, SANITIZE_FILTER the
# sanitize phase (scripts/cuda-sanitize.sh), IMIX_BENCH_FILTER (a regex over
# case names) the bench phase.
#
# Each phase writes $OUT/<phase>.log (OUT defaults to ./gpu-out) and a line
# to $OUT/summary.txt; a phase that fails does not stop the later ones, so one
# call reports everything. The whole run is time-boxed (GPU_SESSION_SECONDS,
# default 570: a device call may run 600 s): a phase is stopped when the time
# is up and the phases after it are skipped, so a hang still returns the logs.
# Exit status: 0 when every phase passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
out="${OUT:-$root/gpu-out}"
mkdir -p "$out"
phases=("$@")
[ ${#phases[@]} -gt 0 ] || phases=(setup build test bench)
budget="${GPU_SESSION_SECONDS:-570}"
started=$(date +%s)
export NO_COLOR=1
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
# Where setup unpacks Node.js when the machine has none (kept between calls
# while the machine stays warm).
export PATH="/tmp/imix-node/bin:$PATH"
export IMIX_PYTHON="${IMIX_PYTHON:-$(command -v python3 || echo /usr/bin/python3)}"
status=0

phase_setup() {
  if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    [ -f .gpu/node.xz ] || { echo "no Node.js >= 20 here and no .gpu/node.xz (run scripts/gpu-kit.sh and carry .gpu)"; return 1; }
    mkdir -p /tmp/imix-node/bin
    xz -dc .gpu/node.xz >/tmp/imix-node/bin/node && chmod +x /tmp/imix-node/bin/node || return 1
    hash -r
  fi
  if [ ! -d node_modules ]; then
    [ -f .gpu/node_modules.tar.xz ] || { echo "no node_modules and no .gpu/node_modules.tar.xz"; return 1; }
    tar -xJf .gpu/node_modules.tar.xz || return 1
  fi
  if [ ! -f dist/lib/index.js ]; then
    if [ -f .gpu/dist.tar ]; then tar -xf .gpu/dist.tar || return 1; else node node_modules/typescript/bin/tsc -p tsconfig.json || return 1; fi
  fi
  echo "node $(node --version), $(cmake --version | head -1), $(nvcc --version | tail -1)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  echo "python for the PyTorch references: $IMIX_PYTHON ($("$IMIX_PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -1))"
}

phase_build() {
  IMIX_CUDA=ON node scripts/build-native.js --force || return 1
  node -e "const i=require('./dist/lib/index.js').info(); console.log(JSON.stringify(i.cuda, null, 1)); process.exit(require('./dist/lib/index.js').cudaAvailable() ? 0 : 1)"
}

phase_test() {
  # The whole suite on the CUDA-enabled addon; it includes the parity suite
  # (test/cuda), whose results the log lists with the rest.
  node node_modules/vitest/vitest.mjs run
}

phase_parity() {
  # The CPU/CUDA parity suite alone (test/cuda), optionally narrowed.
  if [ -n "${GPU_TEST_FILTER:-}" ]; then
    node node_modules/vitest/vitest.mjs run test/cuda -t "$GPU_TEST_FILTER"
  else
    node node_modules/vitest/vitest.mjs run test/cuda
  fi
}

phase_bench() {
  node dist/bench/cuda-kernels.js
}

phase_sanitize() {
  scripts/cuda-sanitize.sh
}

for p in "${phases[@]}"; do
  case "$p" in setup | build | test | parity | bench | sanitize) ;; *) echo "gpu-session: unknown phase '$p' (setup build test parity bench sanitize)" >&2; exit 2 ;; esac
  t0=$(date +%s)
  limit=$((budget - (t0 - started)))
  if [ "$limit" -lt 15 ]; then
    echo "$p: skipped (the ${budget}s budget is spent)" | tee -a "$out/summary.txt"
    status=1
    continue
  fi
  echo "== $p" | tee -a "$out/summary.txt"
  timeout -k 10 "$limit" bash -c "$(declare -f "phase_$p"); phase_$p" >"$out/$p.log" 2>&1
  rc=$?
  [ $rc -eq 124 ] && echo "gpu-session: $p stopped when the ${budget}s budget ran out" >>"$out/$p.log"
  line="$p: $([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)") in $(($(date +%s) - t0))s"
  echo "$line" | tee -a "$out/summary.txt"
  tail -n 25 "$out/$p.log"
  [ $rc -eq 0 ] || status=1
done
exit $status
