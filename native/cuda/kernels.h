// The CUDA backend's kernels: the SAME signatures and formulas as
// native/cpu/kernels.h (read the formulas there), on device pointers of the
// current device, issued on its current stream (runtime.h) — asynchronous
// unless said otherwise. Arguments were validated by the addon.
//
// Host-side differences, by design:
//  - functions returning a double (mixed_cross_entropy, mixed_cosine, sum)
//    copy that one value back: the only synchronization of the kernels;
//  - queue_enqueue is one or two cudaMemcpyAsync; ptr stays on the host and
//    the new ptr is computed there (no sync);
//  - the optimizer steps take seg_offsets/seg_flags as host arrays.
// Numerics: same formulas and the same accumulation types (double where the
// CPU uses double); summation order differs (warp/block trees), and CUDA's
// expf/logf/sinf/cosf may differ from glibc's by an ulp or two. Philox
// uniform draws and input_drop are bit-identical to the CPU; normal draws
// may differ in the last bit. test/cuda/parity.test.ts states the tolerances.
#pragma once
#include <cstdint>

#include "../cpu/kernels.h"

namespace imix::cuda {

using cpu::Box;
using cpu::kLarsAdapt;
using cpu::kWeightDecay;

// The shared contract, declared in imix::cuda (gemm: runtime.h gemm_backend()
// says whether cuBLAS or the tiled kernel runs).
#include "../common/kernel_api.h"

}  // namespace imix::cuda
