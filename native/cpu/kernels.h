// The CPU backend's kernels: the shared contract (native/common/kernel_api.h,
// declared here in imix::cpu) plus the CPU-only and host-side functions below.
// Arguments were validated by the addon (native/addon); these functions
// assume valid shapes and only do math. The CUDA backend (native/cuda)
// declares the same contract, so a test can hold one against the other.
#pragma once
#include <cstdint>

#include "../common/kernel_types.h"

namespace imix::cpu {

using imix::Box;
using imix::kLarsAdapt;
using imix::kWeightDecay;
using imix::SegFlag;

#include "../common/kernel_api.h"

// Which gemm implementation was compiled in: "openblas", "cblas" or "fallback".
const char* blas_name();

// ---- mix.cpp (host) --------------------------------------------------------
// Samples the box the authors' code samples: side ratio sqrt(1−λ), centre
// uniform on the image (Philox words 0 and 1 of stream (seed, offset)),
// clipped; *lam_out = 1 − area/(H·W). Host code, shared by both backends.
Box cutmix_box(float lam, int64_t H, int64_t W, uint64_t seed, uint64_t offset, float* lam_out);

// ---- augment.cpp -----------------------------------------------------------
// Image views on x[N,C,H,W], out of place (out must not overlap x).
// Image i draws from Philox block i of the stream (seed, offset):
//   (w0, w1, w2, w3) = philox4x32_10(seed, block = i, offset)
//   dy_i = ((w0 >> 8)·(2·pad+1)) >> 24,  dx_i = ((w1 >> 8)·(2·pad+1)) >> 24   ∈ [0, 2·pad]
//   flip_i = u32_to_unit(w2) < flip_p                                  (w3 unused)
// Random crop of the zero-padded image, then horizontal flip (torchvision's
// RandomCrop(size, padding=pad) followed by RandomHorizontalFlip(p)):
//   c[i,ch,y,x]   = x[i,ch, y+dy_i−pad, x+dx_i−pad]   (0 outside the image)
//   out[i,ch,y,x] = flip_i ? c[i,ch,y,W−1−x] : c[i,ch,y,x]
// pad = 0 gives dy = dx = 0 (flip only); flip_p = 0 never flips (crop only).
void random_crop_flip(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W,
                      int64_t pad, float flip_p, uint64_t seed, uint64_t offset);


}  // namespace imix::cpu
