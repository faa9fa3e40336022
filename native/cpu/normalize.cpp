// Row-wise L2 normalization (the last step of every projection/prediction head).
//   forward:  n_i = max(‖x_i‖, eps),  y_i = x_i / n_i          (norms[i] = n_i, saved; y may alias x)
//   backward: dx_i = (dy_i − y_i·(y_i·dy_i)) / n_i             (dx may alias dy)
// Rows are independent: parallel over rows, each row is a vectorized reduction
// (sum of squares / dot product, accumulated in double: D can be a few
// thousand and the result feeds a division) followed by a vectorized
// elementwise pass while the row is still in L1.
//
// The backward is the design's formula for every row, including rows with
// ‖x_i‖ < eps. There PyTorch's F.normalize differs: its max() clamps, so the
// denominator is the constant eps and autograd gives dx_i = dy_i / eps, with
// no projection term. With y_i = x_i/eps small that term is tiny (‖y_i‖ < 1),
// and such rows do not occur in practice (the heads' outputs are not ~0); the
// formula here is the one the CUDA backend implements too.
#include <cmath>

#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {

namespace {
// Rows per parallel chunk: at least ~16K floats of work each.
inline int64_t row_grain(int64_t D) { return D >= (1 << 14) ? 1 : (1 << 14) / (D > 0 ? D : 1); }
}  // namespace

// y may alias x exactly (in place): the whole row is read for its norm before
// any element of it is written, and the write reads each x_j before storing y_j.
void l2normalize_forward(const float* x, float* y, float* __restrict norms, int64_t N, int64_t D,
                         float eps) {
  parallel_for(N, row_grain(D), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* xi = x + i * D;
      float* yi = y + i * D;
      double ss = 0.0;
#pragma omp simd reduction(+ : ss)
      for (int64_t j = 0; j < D; ++j) ss += (double)xi[j] * (double)xi[j];
      float n = (float)std::sqrt(ss);
      // NaN-propagating max: a NaN norm stays NaN (and so does the row).
      n = n < eps ? eps : n;
      norms[i] = n;
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) yi[j] = xi[j] / n;
    }
  });
}

// dx may alias dy (exactly: same rows), so those two are not __restrict:
// each element of dy is read (in the dot product and then once more) before
// the same element of dx is written.
void l2normalize_backward(const float* dy, const float* __restrict y, const float* __restrict norms,
                          float* dx, int64_t N, int64_t D) {
  parallel_for(N, row_grain(D), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* dyi = dy + i * D;
      const float* __restrict yi = y + i * D;
      float* dxi = dx + i * D;
      double dot = 0.0;
#pragma omp simd reduction(+ : dot)
      for (int64_t j = 0; j < D; ++j) dot += (double)yi[j] * (double)dyi[j];
      const float d = (float)dot, n = norms[i];
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) dxi[j] = (dyi[j] - yi[j] * d) / n;
    }
  });
}

}  // namespace imix::cpu
