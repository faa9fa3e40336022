// Fused mixed-target cross-entropy on the GPU (formula: native/cpu/kernels.h):
//   loss_i = lse_i − λ_i·s[i,a_i] − (1−λ_i)·s[i,b_i]
//   s[i,:] ← scale·(softmax_i − λ_i·e_{a_i} − (1−λ_i)·e_{b_i})   in place
// One 256-thread block per row, one launch for the whole batch:
//  - the two target logits s[i,a_i], s[i,b_i] are read first, before any
//    thread of the block can write the row (writes follow two barriers);
//  - rows up to 8192 columns are held in registers (VPT values per thread,
//    a template parameter): ONE read of the row (evict-first loads), a
//    block max (NaN-skipping, like the CPU), e_j = exp(s_j − max) kept in
//    place of s_j and summed (per thread in float, across the block in
//    double), lse in double, then ONE streaming store (__stcs) of
//    scale·e_j/S minus the two target weights. One exp per element.
//  - longer rows (MoCo with a large queue) use an online softmax: each
//    thread keeps a running (max, sum) over its strided elements, the
//    block combines the pairs, and a second sweep re-reads the row (from
//    L2) to write the gradient.
// Row losses go to a scratch vector of doubles, summed in row order on the
// device (sum_to_host): the one synchronization, returning the total.
// Non-finite logits behave as on the CPU: a NaN or +inf in a row makes its
// loss and gradient NaN; −inf entries get probability 0; an all −inf row is NaN.
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

constexpr int kCeThreads = 256;

struct CeArgs {
  float* logits;
  int64_t N, M;
  const int32_t* targets;
  const int32_t* perm;
  const float* lam;
  int64_t col_offset;
  float scale;
  double* row_loss;
  float* losses;
};

struct RowTargets {
  int64_t a, b;
  float li, sa, sb;
};

__device__ __forceinline__ RowTargets row_targets(const CeArgs& A, int64_t i, const float* s) {
  RowTargets t;
  const int64_t pi = A.perm ? (int64_t)A.perm[i] : i;
  t.a = A.col_offset + (A.targets ? (int64_t)A.targets[i] : i);
  t.b = A.col_offset + (A.targets ? (int64_t)A.targets[pi] : pi);
  t.li = A.lam ? A.lam[i] : 1.0f;
  t.sa = s[t.a];
  t.sb = s[t.b];
  return t;
}

// loss_i (thread 0 stores it); a zero weight drops its term, as on the CPU.
__device__ __forceinline__ void store_loss(const CeArgs& A, int64_t i, const RowTargets& t, float mx, double S) {
  if (threadIdx.x != 0) return;
  double loss = (double)mx + log(S);
  if (t.li != 0.0f) loss -= (double)t.li * (double)t.sa;
  if (t.li != 1.0f) loss -= (1.0 - (double)t.li) * (double)t.sb;
  A.row_loss[i] = loss;
  if (A.losses) A.losses[i] = (float)loss;
}

__device__ __forceinline__ float grad_at(float e, float g, int64_t j, const RowTargets& t, float wa, float wb) {
  float v = e * g;
  if (j == t.a) v -= wa;
  if (j == t.b) v -= wb;
  return v;
}

template <int VPT>
__global__ void __launch_bounds__(kCeThreads) ce_rows_in_registers(CeArgs A) {
  __shared__ float shf[32];
  __shared__ double shd[32];
  for (int64_t i = blockIdx.x; i < A.N; i += gridDim.x) {
    float* s = A.logits + i * A.M;
    const RowTargets t = row_targets(A, i, s);
    float v[VPT];
    float mx = -INFINITY;
#pragma unroll
    for (int k = 0; k < VPT; ++k) {
      const int64_t j = threadIdx.x + (int64_t)k * kCeThreads;
      v[k] = j < A.M ? __ldcs(s + j) : -INFINITY;
      mx = fmaxf(mx, v[k]);
    }
    mx = block_max(mx, shf);
    float part = 0.0f;
#pragma unroll
    for (int k = 0; k < VPT; ++k) {
      const int64_t j = threadIdx.x + (int64_t)k * kCeThreads;
      if (j < A.M) {
        v[k] = expf(v[k] - mx);  // an all −inf row: exp(NaN) = NaN, as on the CPU
        part += v[k];
      }
    }
    const double S = block_sum((double)part, shd);
    store_loss(A, i, t, mx, S);
    const float g = (float)((double)A.scale / S);
    const float wa = A.scale * t.li, wb = A.scale * (1.0f - t.li);
#pragma unroll
    for (int k = 0; k < VPT; ++k) {
      const int64_t j = threadIdx.x + (int64_t)k * kCeThreads;
      if (j < A.M) __stcs(s + j, grad_at(v[k], g, j, t, wa, wb));
    }
  }
}

__global__ void __launch_bounds__(kCeThreads) ce_rows_streaming(CeArgs A) {
  __shared__ float shf[32];
  __shared__ double shd[32];
  for (int64_t i = blockIdx.x; i < A.N; i += gridDim.x) {
    float* s = A.logits + i * A.M;
    const RowTargets t = row_targets(A, i, s);
    // Online softmax per thread: running max m and Σ exp(x − m); −inf
    // entries contribute nothing, NaN poisons the sum.
    float m = -INFINITY, sum = 0.0f;
    for (int64_t j = threadIdx.x; j < A.M; j += kCeThreads) {
      const float x = s[j];
      if (x > m) {
        sum = sum * expf(m - x) + 1.0f;
        m = x;
      } else if (x != -INFINITY) {
        sum += expf(x - m);
      }
    }
    const float mx = block_max(m, shf);
    // A thread that saw only −inf has sum 0; with mx = −inf (all −inf row)
    // exp(−inf − −inf) = NaN makes S NaN, as on the CPU.
    const double S = block_sum((double)sum * exp((double)m - (double)mx), shd);
    store_loss(A, i, t, mx, S);
    const float g = (float)((double)A.scale / S);
    const float wa = A.scale * t.li, wb = A.scale * (1.0f - t.li);
    for (int64_t j = threadIdx.x; j < A.M; j += kCeThreads) __stcs(s + j, grad_at(expf(s[j] - mx), g, j, t, wa, wb));
  }
}

}  // namespace

double mixed_cross_entropy(float* logits, int64_t N, int64_t M, const int32_t* targets, const int32_t* perm,
                           const float* lam, int64_t col_offset, float scale, float* losses) {
  if (N <= 0) return 0.0;
  Scratch row_loss((size_t)N * sizeof(double));
  CeArgs A{logits, N, M, targets, perm, lam, col_offset, scale, row_loss.as<double>(), losses};
  const unsigned grid = blocks_for(N, 1, kMaxRowGrid);
  const int64_t vpt = (M + kCeThreads - 1) / kCeThreads;
  cudaStream_t st = stream();
  if (vpt <= 1) ce_rows_in_registers<1><<<grid, kCeThreads, 0, st>>>(A);
  else if (vpt <= 2) ce_rows_in_registers<2><<<grid, kCeThreads, 0, st>>>(A);
  else if (vpt <= 4) ce_rows_in_registers<4><<<grid, kCeThreads, 0, st>>>(A);
  else if (vpt <= 8) ce_rows_in_registers<8><<<grid, kCeThreads, 0, st>>>(A);
  else if (vpt <= 16) ce_rows_in_registers<16><<<grid, kCeThreads, 0, st>>>(A);
  else if (vpt <= 32) ce_rows_in_registers<32><<<grid, kCeThreads, 0, st>>>(A);
  else ce_rows_streaming<<<grid, kCeThreads, 0, st>>>(A);
  IMIX_CUDA_LAUNCHED("mixed_cross_entropy");
  return sum_to_host(row_loss.as<double>(), N);
}

}  // namespace imix::cuda
