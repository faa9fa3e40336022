// BYOL's mixed cosine loss on the GPU (formula: native/cpu/kernels.h):
//   loss_i = 2 − 2·(λ_i·p_i·k_i + (1−λ_i)·p_i·k_{π(i)})
//   dp_i   = −2·scale·(λ_i·k_i + (1−λ_i)·k_{π(i)})
// One warp per row, one launch: both dot products in one sweep of p_i, k_i,
// k_{π(i)} (double accumulation, as the CPU — the loss is a small difference
// of numbers near 2), a shuffle reduction, then dp written while k_i and
// k_{π(i)} are in L1. Row losses go to a double scratch vector summed in row
// order on the device; the total is the one host readback.
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

__global__ void mixed_cosine_rows(const float* __restrict p, const float* __restrict k, int64_t N, int64_t D,
                                  const int32_t* __restrict perm, const float* __restrict lam, float scale,
                                  float* __restrict dp, double* __restrict row_loss, float* __restrict losses) {
  const int lane = threadIdx.x & 31;
  const int64_t rpb = blockDim.x / 32;
  for (int64_t i = blockIdx.x * rpb + threadIdx.x / 32; i < N; i += (int64_t)gridDim.x * rpb) {
    const float* pi = p + i * D;
    const float* ki = k + i * D;
    const float* kj = k + (perm ? (int64_t)perm[i] : i) * D;
    const float l = lam ? lam[i] : 1.0f;
    double d1 = 0.0, d2 = 0.0;
    for (int64_t c = lane; c < D; c += 32) {
      const double pv = pi[c];
      d1 += pv * (double)ki[c];
      d2 += pv * (double)kj[c];
    }
    d1 = warp_sum(d1);
    d2 = warp_sum(d2);
    if (lane == 0) {
      double sim = 0.0;
      if (l != 0.0f) sim += (double)l * d1;
      if (l != 1.0f) sim += (1.0 - (double)l) * d2;
      const double loss = 2.0 - 2.0 * sim;
      row_loss[i] = loss;
      if (losses) losses[i] = (float)loss;
    }
    if (dp) {
      float* g = dp + i * D;
      const float wa = -2.0f * scale * l, wb = -2.0f * scale * (1.0f - l);
      for (int64_t c = lane; c < D; c += 32) g[c] = wa * ki[c] + wb * kj[c];
    }
  }
}

}  // namespace

double mixed_cosine(const float* p, const float* k, int64_t N, int64_t D, const int32_t* perm, const float* lam,
                    float scale, float* dp, float* losses) {
  if (N <= 0) return 0.0;
  Scratch row_loss((size_t)N * sizeof(double));
  mixed_cosine_rows<<<blocks_for(N, 8), 256, 0, stream()>>>(p, k, N, D, perm, lam, scale, dp, row_loss.as<double>(),
                                                             losses);
  IMIX_CUDA_LAUNCHED("mixed_cosine");
  return sum_to_host(row_loss.as<double>(), N);
}

}  // namespace imix::cuda
