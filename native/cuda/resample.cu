// SCARF feature resampling on the GPU (formula: native/common/kernel_api.h,
// "resample.cpp"): out[i,j] = u_ij < p ? pool[r_ij, j] : x[i,j]. The draw of
// element e = i·F + j (Philox block e of the stream (seed, offset): the
// decision from w0, the pool row from w1:w2 by an exact 64-bit multiply-high)
// is the function of native/common/resample.h that the CPU runs, in integer
// and exactly rounded operations only, so every output is bit-identical to
// the CPU's.
//
// One grid-stride loop over the N·F elements: consecutive threads take
// consecutive elements (coalesced loads of x and stores of out; a replaced
// element gathers one float from a random pool row). Each thread reads its
// element of x before writing it, so out may be x (in place); the pool is
// only read (the binding keeps it apart from out).
#include "../common/resample.h"
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

__global__ void resample_kernel(const float* x, const float* __restrict pool, float* out, int64_t n, int64_t F,
                                int64_t M, double p, uint64_t seed, uint64_t offset) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
    out[e] = resample_at(x, pool, e, e % F, F, M, p, seed, offset);
}

}  // namespace

void resample_features(const float* x, const float* pool, float* out, int64_t N, int64_t F, int64_t M, double p,
                       uint64_t seed, uint64_t offset) {
  const int64_t n = N * F;
  if (n <= 0) return;
  resample_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(x, pool, out, n, F, M, p, seed, offset);
  IMIX_CUDA_LAUNCHED("resample_features");
}

}  // namespace imix::cuda
