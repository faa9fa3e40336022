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
// The BLAS's own kernel set (OpenBLAS's core name), or "" (gemm.cpp).
const char* blas_core();

// ---- mix.cpp (host) --------------------------------------------------------
// Samples the box the authors' code samples: side ratio sqrt(1−λ), centre
// uniform on the image (Philox words 0 and 1 of stream (seed, offset)),
// clipped; *lam_out = 1 − area/(H·W). Host code, shared by both backends.
Box cutmix_box(float lam, int64_t H, int64_t W, uint64_t seed, uint64_t offset, float* lam_out);

// (augment.cpp: random_crop_flip, random_resized_crop and resized_crop are
// shared kernels now, declared in kernel_api.h.)


}  // namespace imix::cpu
