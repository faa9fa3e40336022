// Fused mixed-target cross-entropy on the GPU (formula: native/common/kernel_api.h;
// the CPU twin is native/cpu/cross_entropy.cpp):
//   loss_i = lse_i − λ_i·s[i,a_i] − (1−λ_i)·s[i,b_i]
//   s[i,:] ← scale·(softmax_i − λ_i·e_{a_i} − (1−λ_i)·e_{b_i})   in place
// A few flops per float: the kernel is bound by memory bandwidth, so it is
// shaped, as llm.c's fused classifier is, to move each float as few times and
// as widely as it can:
//  - 128-bit accesses. Row i is the M floats at logits + i·ld (ld ≥ M; the
//    ld − M padding floats after it are never touched). Each row is cut where
//    its address allows: h ≤ 3 head floats up to the first 16-byte boundary, a
//    body of float4s, ≤ 3 tail floats (the row stride ld may be any value and
//    the tensor may start at any float, so every row has its own cut; a row of
//    M < 4 may have no body). The body moves as float4 loads and stores; the
//    ≤ 6 edge floats as scalars, one per thread. The cut is a mask of the
//    address: no 64-bit division anywhere. MoCo pads ld to a multiple of 4 in
//    an aligned buffer, so all its rows have h = 0: every row but its last
//    M mod 4 floats moves as float4s.
//  - Rows of up to 8192 floats (up to 32768 when there are rows enough to fill
//    the GPU, N ≥ 256): ONE block per row, as wide as the row needs (32–1024
//    threads, 1–8 float4s each, held in registers): ONE read of the row
//    (evict-first loads), the block's max (NaN-skipping, as on the CPU),
//    e_j = exp(s_j − max) kept in place of s_j and summed (per thread in float,
//    across the block in double), lse in double, then ONE streaming store
//    (__stcs) of scale·e_j/S minus the two target weights. One exp per element
//    and 2·M·4 bytes moved: the minimum. The two target logits s[i,a_i],
//    s[i,b_i] are read first, before any thread can write the row (writes
//    follow two barriers).
//  - Longer rows (MoCo's N + K, ~65,600 columns) and long rows with few of
//    them: a row is split over up to 64 blocks (a 2-D grid: the blocks of a
//    row × rows) and two launches, so it is read twice at most:
//     1. statistics: each block walks its tiles of the row (512 threads × 4
//        float4s, a tile's loads issued together and cached in L2 only,
//        __ldcg; 64 registers, two blocks an SM) with a branch-free online
//        softmax per thread — the tile's max raises the running max m, the
//        running sum is rescaled once by exp(m_old − m), then the tile's 16
//        exps are added — merges its threads' (m, sum) into the block's partial
//        (max, Σ in double) and stores it; the row's first block also saves the
//        two target logits, which pass 2 overwrites;
//     2. gradient: every block of a row combines the row's partials (the same
//        fixed tree in each block, so all agree on (max, S)), re-reads its
//        tiles (evict-first: the last read) and streams the gradient out. Rows
//        are taken in reverse order, so the ones pass 1 read last, the likeliest
//        to be still in L2, come first.
// Row losses go to a scratch vector of doubles, summed in row order on the
// device (sum_to_host): the one synchronization, returning the total.
// Non-finite logits behave as on the CPU: a NaN or +inf in a row makes its
// loss and gradient NaN; −inf entries get probability 0; an all −inf row is
// NaN. The online softmax starts its running max at −FLT_MAX, not −inf, so a
// −inf entry adds exp(−inf − m) = 0 instead of exp(−inf − −inf) = NaN; a row
// whose sum stays 0 is all −inf and is made NaN explicitly. (Every row holding
// a finite value has S ≥ 1: the max's own term.)
#include <cfloat>
#include <cstdint>

#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

// Register path: the widest block and the most float4s a thread holds.
constexpr int kCeMaxThreads = 1024;
constexpr int kCeMaxVec = 8;
// Body float4s a row may have for the register path whatever N is (8192
// floats); up to kCeMaxThreads·kCeMaxVec when N reaches kCeRowsToFill (about
// two wide blocks per SM of an H100/H200), else the row is split.
constexpr int64_t kCeOneBlockVec = 2048;
constexpr int64_t kCeRowsToFill = 256;
// Split path: block width, float4s per thread per tile, float4s per tile.
constexpr int kCeSplitThreads = 512;
constexpr int kCeSplitUnroll = 4;
constexpr int kCeTile = kCeSplitThreads * kCeSplitUnroll;

struct CeArgs {
  float* logits;
  int64_t N, M, ld;  // rows, columns, row stride (floats)
  const int32_t* targets;
  const int32_t* perm;
  const float* lam;
  int64_t col_offset;
  float scale;
  double* row_loss;
  float* losses;
};

// A row of M floats cut at 16-byte boundaries: h head floats, nb float4s,
// then (M − h) mod 4 tail floats; ne = h + tail edge floats (≤ 6). Floats
// are 4-byte aligned, so the head is the address's distance to the next
// 16-byte boundary, in floats.
struct RowCut {
  int64_t nb;
  int h, ne;
};
__device__ __forceinline__ RowCut row_cut(const float* s, int64_t M) {
  const int64_t lead = (int64_t)((((uintptr_t)0 - (uintptr_t)s) >> 2) & 3u);
  RowCut c;
  c.h = (int)(lead < M ? lead : M);
  const int64_t rest = M - c.h;
  c.nb = rest >> 2;
  c.ne = c.h + (int)(rest & 3);
  return c;
}
// Column of edge float k: head float k, or tail float k − h (after the
// body, at h + 4·nb + (k − h)); −1 for k ≥ ne.
__device__ __forceinline__ int64_t edge_col(const RowCut& c, int k) {
  return k < c.h ? (int64_t)k : k < c.ne ? 4 * c.nb + k : -1;
}

struct RowTargets {
  int64_t a, b;      // the target columns
  float li, wa, wb;  // λ_i and the gradient's target weights scale·λ_i, scale·(1 − λ_i)
};
__device__ __forceinline__ RowTargets row_targets(const CeArgs& A, int64_t i) {
  RowTargets t;
  const int64_t pi = A.perm ? (int64_t)A.perm[i] : i;
  t.a = A.col_offset + (A.targets ? (int64_t)A.targets[i] : i);
  t.b = A.col_offset + (A.targets ? (int64_t)A.targets[pi] : pi);
  t.li = A.lam ? A.lam[i] : 1.0f;
  t.wa = A.scale * t.li;
  t.wb = A.scale * (1.0f - t.li);
  return t;
}

// loss_i from the row's max and S = Σ exp(s − max); a zero weight drops its
// term, as on the CPU (a −inf target logit with weight 0 cannot make 0·∞).
__device__ __forceinline__ void store_loss(const CeArgs& A, int64_t i, const RowTargets& t, float sa, float sb,
                                           float mx, double S) {
  double loss = (double)mx + log(S);
  if (t.li != 0.0f) loss -= (double)t.li * (double)sa;
  if (t.li != 1.0f) loss -= (1.0 - (double)t.li) * (double)sb;
  A.row_loss[i] = loss;
  if (A.losses) A.losses[i] = (float)loss;
}

// scale·p_j minus the target weights at column j (x − 0 is x exactly, so the
// selects change only the two target columns; a = b subtracts both, in the
// CPU's order).
__device__ __forceinline__ float grad_at(float e, float g, int64_t j, const RowTargets& t) {
  return e * g - (j == t.a ? t.wa : 0.0f) - (j == t.b ? t.wb : 0.0f);
}
// The same for the float4 of columns j..j+3: which of its lanes holds a and
// b (−1: none) is found once, in 64 bits, and the lanes compared in 32.
__device__ __forceinline__ int lane_of(int64_t col, int64_t j) {
  const int64_t d = col - j;
  return (uint64_t)d < 4 ? (int)d : -1;
}
__device__ __forceinline__ float4 grad4(float4 e, float g, int64_t j, const RowTargets& t) {
  const int ka = lane_of(t.a, j), kb = lane_of(t.b, j);
  float4 o;
  o.x = e.x * g - (ka == 0 ? t.wa : 0.0f) - (kb == 0 ? t.wb : 0.0f);
  o.y = e.y * g - (ka == 1 ? t.wa : 0.0f) - (kb == 1 ? t.wb : 0.0f);
  o.z = e.z * g - (ka == 2 ? t.wa : 0.0f) - (kb == 2 ? t.wb : 0.0f);
  o.w = e.w * g - (ka == 3 ? t.wa : 0.0f) - (kb == 3 ? t.wb : 0.0f);
  return o;
}
__device__ __forceinline__ float max4(float4 v) { return fmaxf(fmaxf(v.x, v.y), fmaxf(v.z, v.w)); }  // skips NaN
__device__ __forceinline__ float4 exp4(float4 v, float m) {
  return make_float4(expf(v.x - m), expf(v.y - m), expf(v.z - m), expf(v.w - m));
}
__device__ __forceinline__ float sum4(float4 v) { return (v.x + v.y) + (v.z + v.w); }
__device__ __forceinline__ float4 neg_inf4() { return make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY); }

// One block (blockDim.x threads, a multiple of 32) per row; the row's body
// has at most VEC·blockDim.x float4s.
template <int VEC>
__global__ void __launch_bounds__(kCeMaxThreads) ce_rows_in_registers(CeArgs A) {
  __shared__ float shf[32];
  __shared__ double shd[32];
  const int tid = threadIdx.x;
  const int64_t T = blockDim.x;
  for (int64_t i = blockIdx.x; i < A.N; i += gridDim.x) {
    float* s = A.logits + i * A.ld;
    const RowCut c = row_cut(s, A.M);
    float4* s4 = reinterpret_cast<float4*>(s + c.h);
    const RowTargets t = row_targets(A, i);
    float sa = 0.0f, sb = 0.0f;
    if (tid == 0) {
      sa = s[t.a];
      sb = s[t.b];
    }
    // The one read: this thread's float4s and edge float, −inf where there
    // is none (they add exp(−inf − max) = 0 below).
    float4 v[VEC];
    float mx = -INFINITY;
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      const int64_t j4 = tid + k * T;
      v[k] = j4 < c.nb ? __ldcs(s4 + j4) : neg_inf4();
      mx = fmaxf(mx, max4(v[k]));
    }
    const int64_t je = edge_col(c, tid);
    float ve = je >= 0 ? __ldcs(s + je) : -INFINITY;
    mx = block_max(fmaxf(mx, ve), shf);
    // e = exp(s − max) in place of s (an all −inf row: max = −inf, every
    // e NaN, as on the CPU).
    float part = 0.0f;
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      v[k] = exp4(v[k], mx);
      part += sum4(v[k]);
    }
    ve = expf(ve - mx);
    part += ve;
    const double S = block_sum((double)part, shd);
    if (tid == 0) store_loss(A, i, t, sa, sb, mx, S);
    const float g = (float)((double)A.scale / S);
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      const int64_t j4 = tid + k * T;
      if (j4 < c.nb) __stcs(s4 + j4, grad4(v[k], g, c.h + 4 * j4, t));
    }
    if (je >= 0) __stcs(s + je, grad_at(ve, g, je, t));
  }
}

// Split path, pass 1: block (x, y) walks tiles x, x + gridDim.x, … of rows
// y, y + gridDim.y, … and stores the row's partial x: its max and its
// Σ exp(s − max) (part_max/part_sum[i·gridDim.x + x]). Block 0 of a row also
// handles the edge floats and saves the target logits (saved[2i], saved[2i+1]).
__global__ void __launch_bounds__(kCeSplitThreads, 2)
    ce_split_stats(CeArgs A, float* __restrict part_max, double* __restrict part_sum, float* __restrict saved) {
  __shared__ float shf[32];
  __shared__ double shd[32];
  const int tid = threadIdx.x;
  const int64_t P = gridDim.x;
  for (int64_t i = blockIdx.y; i < A.N; i += gridDim.y) {
    const float* s = A.logits + i * A.ld;
    const RowCut c = row_cut(s, A.M);
    const float4* s4 = reinterpret_cast<const float4*>(s + c.h);
    if (blockIdx.x == 0 && tid == 0) {
      const RowTargets t = row_targets(A, i);
      saved[2 * i] = s[t.a];
      saved[2 * i + 1] = s[t.b];
    }
    // Online softmax, branch-free: running max m (from −FLT_MAX) and
    // sum = Σ exp(x − m) over this thread's elements. The loads are cached in
    // L2 only (__ldcg): pass 2 reads the row again, from L2 if it is still there.
    float m = -FLT_MAX, sum = 0.0f;
    for (int64_t base = blockIdx.x * (int64_t)kCeTile + tid; base < c.nb; base += P * kCeTile) {
      float4 v[kCeSplitUnroll];
#pragma unroll
      for (int u = 0; u < kCeSplitUnroll; ++u) {
        const int64_t j4 = base + (int64_t)u * kCeSplitThreads;
        v[u] = j4 < c.nb ? __ldcg(s4 + j4) : neg_inf4();
      }
      float mt = m;
#pragma unroll
      for (int u = 0; u < kCeSplitUnroll; ++u) mt = fmaxf(mt, max4(v[u]));
      float acc = 0.0f;
#pragma unroll
      for (int u = 0; u < kCeSplitUnroll; ++u) acc += sum4(exp4(v[u], mt));
      sum = sum * expf(m - mt) + acc;
      m = mt;
    }
    const int64_t je = blockIdx.x == 0 ? edge_col(c, tid) : -1;
    const float ve = je >= 0 ? __ldcg(s + je) : -INFINITY;
    const float me = fmaxf(m, ve);
    sum = sum * expf(m - me) + expf(ve - me);
    m = me;
    const float bm = block_max(m, shf);
    const double bs = block_sum((double)sum * exp((double)m - (double)bm), shd);
    if (tid == 0) {
      part_max[i * P + blockIdx.x] = bm;
      part_sum[i * P + blockIdx.x] = bs;
    }
  }
}

// Split path, pass 2: the same grid; rows in reverse order.
__global__ void __launch_bounds__(kCeSplitThreads, 2) ce_split_grad(CeArgs A, const float* __restrict part_max,
                                                                 const double* __restrict part_sum,
                                                                 const float* __restrict saved) {
  __shared__ float shf[32];
  __shared__ double shd[32];
  const int tid = threadIdx.x;
  const int64_t P = gridDim.x;
  for (int64_t y = blockIdx.y; y < A.N; y += gridDim.y) {
    const int64_t i = A.N - 1 - y;
    const float* pm = part_max + i * P;
    const double* ps = part_sum + i * P;
    float m = -FLT_MAX;
    for (int64_t p = tid; p < P; p += kCeSplitThreads) m = fmaxf(m, pm[p]);
    const float mx = block_max(m, shf);
    double acc = 0.0;
    for (int64_t p = tid; p < P; p += kCeSplitThreads) acc += ps[p] * exp((double)pm[p] - (double)mx);
    double S = block_sum(acc, shd);
    if (!(S > 0.0)) S = NAN;  // Σ = 0: every entry −inf; NaN, as on the CPU
    const RowTargets t = row_targets(A, i);
    if (blockIdx.x == 0 && tid == 0) store_loss(A, i, t, saved[2 * i], saved[2 * i + 1], mx, S);
    const float g = (float)((double)A.scale / S);
    float* s = A.logits + i * A.ld;
    const RowCut c = row_cut(s, A.M);
    float4* s4 = reinterpret_cast<float4*>(s + c.h);
    for (int64_t base = blockIdx.x * (int64_t)kCeTile + tid; base < c.nb; base += P * kCeTile) {
      float4 v[kCeSplitUnroll];
#pragma unroll
      for (int u = 0; u < kCeSplitUnroll; ++u) {
        const int64_t j4 = base + (int64_t)u * kCeSplitThreads;
        v[u] = j4 < c.nb ? __ldcs(s4 + j4) : neg_inf4();
      }
#pragma unroll
      for (int u = 0; u < kCeSplitUnroll; ++u) {
        const int64_t j4 = base + (int64_t)u * kCeSplitThreads;
        if (j4 < c.nb) __stcs(s4 + j4, grad4(exp4(v[u], mx), g, c.h + 4 * j4, t));
      }
    }
    const int64_t je = blockIdx.x == 0 ? edge_col(c, tid) : -1;
    if (je >= 0) __stcs(s + je, grad_at(expf(s[je] - mx), g, je, t));
  }
}

}  // namespace

double mixed_cross_entropy(float* logits, int64_t N, int64_t M, int64_t ld, const int32_t* targets,
                           const int32_t* perm, const float* lam, int64_t col_offset, float scale, float* losses) {
  if (N <= 0) return 0.0;
  Scratch row_loss((size_t)N * sizeof(double));
  CeArgs A{logits, N, M, ld, targets, perm, lam, col_offset, scale, row_loss.as<double>(), losses};
  cudaStream_t st = stream();
  const int64_t nb = M >> 2;  // the most float4s a row's body can have
  if (nb <= kCeOneBlockVec || (nb <= (int64_t)kCeMaxThreads * kCeMaxVec && N >= kCeRowsToFill)) {
    const int vec = nb <= kCeMaxThreads ? 1 : nb <= 2 * kCeMaxThreads ? 2 : nb <= 4 * kCeMaxThreads ? 4 : 8;
    int64_t threads = ((nb + vec - 1) / vec + 31) / 32 * 32;
    if (threads < 32) threads = 32;
    const unsigned grid = blocks_for(N, 1, kMaxRowGrid), block = (unsigned)threads;
    if (vec == 1) ce_rows_in_registers<1><<<grid, block, 0, st>>>(A);
    else if (vec == 2) ce_rows_in_registers<2><<<grid, block, 0, st>>>(A);
    else if (vec == 4) ce_rows_in_registers<4><<<grid, block, 0, st>>>(A);
    else ce_rows_in_registers<8><<<grid, block, 0, st>>>(A);
    IMIX_CUDA_LAUNCHED("mixed_cross_entropy");
  } else {
    const unsigned P = blocks_for(nb, kCeTile, kMaxColumnBlocks);
    const dim3 grid(P, blocks_for(N, 1, kMaxGridY));
    Scratch part((size_t)N * P * (sizeof(double) + sizeof(float)) + (size_t)N * 2 * sizeof(float));
    double* part_sum = part.as<double>();
    float* part_max = reinterpret_cast<float*>(part_sum + N * P);
    float* saved = part_max + N * P;
    ce_split_stats<<<grid, kCeSplitThreads, 0, st>>>(A, part_max, part_sum, saved);
    IMIX_CUDA_LAUNCHED("mixed_cross_entropy (row statistics)");
    ce_split_grad<<<grid, kCeSplitThreads, 0, st>>>(A, part_max, part_sum, saved);
    IMIX_CUDA_LAUNCHED("mixed_cross_entropy");
  }
  return sum_to_host(row_loss.as<double>(), N);
}

}  // namespace imix::cuda
