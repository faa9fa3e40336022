// BYOL's mixed cosine loss on L2-normalized rows p[N,D] (online prediction)
// and k[N,D] (target projection, no gradient), with i-Mix's virtual labels:
//   loss_i = 2 − 2·(λ_i·p_i·k_i + (1−λ_i)·p_i·k_{π(i)})
//   dp_i   = −2·scale·(λ_i·k_i + (1−λ_i)·k_{π(i)})
// (dp is the gradient with respect to the normalized p; the caller chains it
// through l2normalize_backward.) One pass per row: both dot products in one
// vectorized loop, accumulated in double, then dp written while k_i and k_π(i)
// are in L1. Parallel over rows; row losses are summed serially in row order,
// so the total does not depend on the thread count.
#include <cstddef>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "row_loss.h"

namespace imix::cpu {

double mixed_cosine(const float* __restrict p, const float* __restrict k, int64_t N, int64_t D,
                    const int32_t* __restrict perm, const float* __restrict lam, float scale,
                    float* __restrict dp, float* __restrict losses) {
  if (N <= 0) return 0.0;
  std::vector<double> row_loss((std::size_t)N);
  const int64_t grain = D >= (1 << 13) ? 1 : (1 << 13) / (D > 0 ? D : 1);
  parallel_for(N, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* __restrict pi = p + i * D;
      const float* __restrict ki = k + i * D;
      const float* __restrict kj = k + (perm ? (int64_t)perm[i] : i) * D;
      const float l = lam ? lam[i] : 1.0f;
      double d1 = 0.0, d2 = 0.0;
#pragma omp simd reduction(+ : d1, d2)
      for (int64_t c = 0; c < D; ++c) {
        d1 += (double)pi[c] * (double)ki[c];
        d2 += (double)pi[c] * (double)kj[c];
      }
      // A zero weight drops its term entirely (no 0·∞ from a non-finite row).
      double sim = 0.0;
      if (l != 0.0f) sim += (double)l * d1;
      if (l != 1.0f) sim += (1.0 - (double)l) * d2;
      row_loss[(std::size_t)i] = 2.0 - 2.0 * sim;
      if (dp) {
        float* __restrict g = dp + i * D;
        const float wa = -2.0f * scale * l, wb = -2.0f * scale * (1.0f - l);
#pragma omp simd
        for (int64_t c = 0; c < D; ++c) g[c] = wa * ki[c] + wb * kj[c];
      }
    }
  });
  return sum_row_losses(row_loss, losses);
}

}  // namespace imix::cpu
