// Fused mixed-target cross-entropy (the loss of N-pair/SimCLR and MoCo, with
// or without i-Mix), over logits[N, M] (row i at logits + i·ld, ld ≥ M; the
// padding after each row's M floats is never touched), in place:
//   a_i = col_offset + (targets ? targets[i] : i)
//   b_i = col_offset + (targets ? targets[perm[i]] : perm[i])     (perm null: b_i = a_i)
//   loss_i = lse_i − λ_i·s[i,a_i] − (1−λ_i)·s[i,b_i],   lse_i = log Σ_j exp s[i,j]
//   s[i,:] ← scale·(softmax_i − λ_i·e_{a_i} − (1−λ_i)·e_{b_i})
//
// Shape of the implementation. Rows are independent and long (M = N + K up to
// several thousand), so threads split the rows and each row is processed in
// blocks of kBlock floats, one trip through memory:
//  1. read the two target logits s[i,a_i], s[i,b_i] (before anything is overwritten);
//  2. per block (online softmax, blocked): the block's max (a vectorized
//     reduction that pulls the block into L1); if it raises the running max m,
//     rescale the running sum S by exp(m_old − m_new) once; then
//     e_j = exp(s_j − m) is written over s_j and summed — ONE exp per element,
//     with a branch-free Cephes-style expf that the compiler vectorizes
//     (std::exp does not vectorize without -ffast-math). The m each block used
//     is remembered;
//  3. a second sweep over the row, which is still in L1/L2, multiplies block b
//     by scale·exp(m_b − m)/S (one multiply per element, no second exp) and
//     subtracts scale·λ_i at a_i and scale·(1−λ_i) at b_i.
// Sums: float lanes within a block (≤ kBlock/16 terms per lane), blocks and
// rows in double; the row losses are summed serially in row order, so the
// result does not depend on the thread count.
//
// Non-finite logits: the max reduction skips NaN, exp(NaN − m) is NaN, so a
// NaN anywhere in row i makes loss_i and the row's gradient NaN (no crash, no
// out-of-range access). +inf gives NaN the same way; −inf entries get
// probability 0.
#include <cmath>
#include <cstring>
#include <cstddef>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "row_loss.h"

namespace imix::cpu {

namespace {

constexpr int64_t kBlock = 1024;  // floats per block: 4 KB, well inside L1
constexpr int kLanes = 16;        // float partial sums per block (one AVX-512 register)

// exp(x) for x ≤ 0 (and NaN), branch-free so loops over it vectorize.
// Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, exp(r) by a degree-6 polynomial,
// 2^n built in the exponent bits. Max relative error ~1e-7 against exp() in
// double over [−87.3, 0]. Results below FLT_MIN (x < −87.34) are flushed to 0
// instead of being returned as subnormals.
inline float exp_nonpos(float x) {
  const float lo = -87.33654475f;  // log(FLT_MIN)
  const bool under = x < lo;
  const float xc = under ? lo : x;  // NaN is kept (the comparison is false)
  // n = round(x·log2(e)) by the 1.5·2^23 trick (exact for |n| < 2^22).
  float fn = xc * 1.44269504088896341f + 12582912.0f;
  fn = fn - 12582912.0f;
  // r = x − n·ln2, with ln2 split in two so the product is exact.
  float r = xc - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  // 2^n (n ≥ −126 here). A NaN n is replaced by 0 so the float→int
  // conversion stays defined; p already carries the NaN.
  const float fnn = fn == fn ? fn : 0.0f;
  const int32_t bits = ((int32_t)fnn + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  const float y = p * two_n;
  return under ? 0.0f : y;
}

// max_j x[j], skipping NaN (x > m is false for NaN); −inf for n == 0.
inline float block_max(const float* __restrict x, int64_t n) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// x[j] ← exp(x[j] − m); returns Σ_j of the new x[j].
inline double block_exp_sum(float* __restrict x, int64_t n, float m) {
  float acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const float e = exp_nonpos(x[j + l] - m);
      x[j + l] = e;
      acc[l] += e;
    }
  double s = 0.0;
  for (; j < n; ++j) {
    const float e = exp_nonpos(x[j] - m);
    x[j] = e;
    s += e;
  }
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

inline void block_scale(float* __restrict x, int64_t n, float g) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) x[j] *= g;
}

}  // namespace

double mixed_cross_entropy(float* logits, int64_t N, int64_t M, int64_t ld, const int32_t* targets,
                           const int32_t* perm, const float* lam, int64_t col_offset, float scale,
                           float* losses) {
  if (N <= 0) return 0.0;
  const int64_t nblocks = (M + kBlock - 1) / kBlock;
  std::vector<double> row_loss((std::size_t)N);
  const int64_t grain = M >= (1 << 15) ? 1 : (1 << 15) / (M > 0 ? M : 1);

  parallel_for(N, grain, [&](int64_t rb, int64_t re) {
    std::vector<float> used_max((std::size_t)nblocks);
    for (int64_t i = rb; i < re; ++i) {
      float* __restrict s = logits + i * ld;
      const int64_t pi = perm ? perm[i] : i;
      const int64_t a = col_offset + (targets ? targets[i] : i);
      const int64_t b = col_offset + (targets ? targets[pi] : pi);
      const float li = lam ? lam[i] : 1.0f;
      const float sa = s[a], sb = s[b];

      float m = -INFINITY;
      double S = 0.0;
      for (int64_t k = 0; k < nblocks; ++k) {
        float* blk = s + k * kBlock;
        const int64_t n = (k + 1 < nblocks) ? kBlock : M - k * kBlock;
        const float bm = block_max(blk, n);
        if (bm > m) {
          S *= std::exp((double)m - (double)bm);  // m = −inf on the first block: S = 0 anyway
          m = bm;
        }
        used_max[(std::size_t)k] = m;
        S += block_exp_sum(blk, n, m);
      }

      const double lse = (double)m + std::log(S);
      // A zero weight drops its term (so a −inf logit with weight 0 cannot make 0·∞).
      double loss = lse;
      if (li != 0.0f) loss -= (double)li * sa;
      if (li != 1.0f) loss -= (1.0 - (double)li) * sb;
      row_loss[(std::size_t)i] = loss;

      for (int64_t k = 0; k < nblocks; ++k) {
        const int64_t n = (k + 1 < nblocks) ? kBlock : M - k * kBlock;
        const float g = (float)((double)scale * std::exp((double)used_max[(std::size_t)k] - (double)m) / S);
        block_scale(s + k * kBlock, n, g);
      }
      s[a] -= scale * li;
      s[b] -= scale * (1.0f - li);
    }
  });

  return sum_row_losses(row_loss, losses);
}

}  // namespace imix::cpu
