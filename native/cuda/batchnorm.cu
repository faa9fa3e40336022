// BatchNorm1d on x[N, C] on the GPU (formulas as native/cpu/batchnorm.cpp).
//
// Column statistics are reductions over rows (stride C): blocks of 32×8
// threads own 32 adjacent columns and one chunk of rows (colreduce.cuh), so
// every warp reads contiguous 128-byte row segments and the grid has enough
// blocks even for small C. Everything is accumulated in double.
//  train:    per (chunk, column) the chunk mean and centred sum of squares
//            (two passes over the chunk, the second from L1/L2); a per-column
//            kernel combines the chunks in order with Chan's formula (exact
//            for any mean/std ratio, like the CPU's two-pass variance), writes
//            save_mean/save_invstd and the running stats (unbiased variance,
//            PyTorch's momentum rule), and the affine coefficients; then an
//            elementwise pass y = ((x − μ) − μ_lo)·scale + shift, μ_lo being
//            the float residue of the double mean, as on the CPU.
//  eval:     per-column coefficients from the running stats, then the same
//            elementwise pass.
//  backward: per (chunk, column) Σdy and Σdy·(x − μ); per column dβ, dγ
//            (accumulated into when asked) and the dx coefficients; then
//            dx = a·(dy − b − (x − μ)·k) elementwise.
//
// BatchNorm2d on x[N, C, S] (S = H·W, or L for BatchNorm1d on [N, C, L]): the
// same statistics per channel c over the M = N·S values x[n, c, :]. A channel
// is cut into R contiguous chunks of its M values (m = n·S + s, chunk r is
// [M·r/R, M·(r+1)/R), R from (M, C) only); one block per (channel, chunk)
// reduces it with the block's fixed tree in double (chunk mean, then the
// centred sum of squares; or Σdy' and Σdy'·(x − μ)), and the per-channel
// kernels above combine the chunks in order — the same finish kernels as
// BatchNorm1d with N → M, so the formulas, the double accumulation and the
// running-statistics rule are shared. relu = true clamps y at 0 in the same
// pass, and the backward masks dy' = dy·[y > 0] when y is given (y = the
// fused output). Deterministic for a given (N, C, S).
//
// Index arithmetic: no per-element 64-bit division (a subroutine of tens of
// instructions on a GPU). The elementwise passes follow each element's
// column c = i mod C ([N, C]) or channel c = (i / S) mod C ([N, C, S]) by
// additions (RowColWalk, ChannelWalk: common.cuh); a chunk's threads follow
// their value m = n·S + s of channel c as (n, s) the same way, to read
// x[(n·C + c)·S + s].
#include "colreduce.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

// part[(0·R + r)·C + c] = chunk mean, part[(1·R + r)·C + c] = chunk Σ(x − mean)².
__global__ void bn_chunk_moments(const float* __restrict x, int64_t N, int64_t C, int64_t R,
                                 double* __restrict part) {
  __shared__ double sh[kRowLanes][kColTile + 1];
  __shared__ double smean[kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t c = (int64_t)blockIdx.x * kColTile + tx;
  const int64_t r = blockIdx.y;
  const int64_t i0 = N * r / R, i1 = N * (r + 1) / R;
  double s = 0.0;
  if (c < C)
    for (int64_t i = i0 + ty; i < i1; i += kRowLanes) s += (double)x[i * C + c];
  sh[ty][tx] = s;
  __syncthreads();
  if (ty == 0) {
    double t = 0.0;
#pragma unroll
    for (int k = 0; k < kRowLanes; ++k) t += sh[k][tx];
    smean[tx] = i1 > i0 ? t / (double)(i1 - i0) : 0.0;
  }
  __syncthreads();
  const double mu = smean[tx];
  double q = 0.0;
  if (c < C)
    for (int64_t i = i0 + ty; i < i1; i += kRowLanes) {
      const double d = (double)x[i * C + c] - mu;
      q += d * d;
    }
  __syncthreads();
  sh[ty][tx] = q;
  __syncthreads();
  if (ty == 0 && c < C) {
    double t = 0.0;
#pragma unroll
    for (int k = 0; k < kRowLanes; ++k) t += sh[k][tx];
    part[r * C + c] = mu;
    part[(R + r) * C + c] = t;
  }
}

// coef: [4][C] = μ (float), μ_lo, scale, shift.
__global__ void bn_train_finish(const double* __restrict part, int64_t N, int64_t C, int64_t R,
                                const float* __restrict gamma, const float* __restrict beta, float eps, float momentum,
                                float* __restrict running_mean, float* __restrict running_var,
                                float* __restrict save_mean, float* __restrict save_invstd, float* __restrict coef) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    double na = 0.0, mean = 0.0, m2 = 0.0;
    for (int64_t r = 0; r < R; ++r) {
      const double nb = (double)(N * (r + 1) / R - N * r / R);
      if (nb == 0.0) continue;
      const double mb = part[r * C + c], m2b = part[(R + r) * C + c];
      if (na == 0.0) {
        mean = mb;
        m2 = m2b;
        na = nb;
      } else {
        const double n = na + nb, delta = mb - mean;
        mean += delta * (nb / n);
        m2 += m2b + delta * delta * (na * nb / n);
        na = n;
      }
    }
    const double var = m2 / (double)N;
    const double invstd = 1.0 / sqrt(var + (double)eps);
    const float mu = (float)mean;
    coef[c] = mu;
    coef[C + c] = (float)(mean - (double)mu);
    coef[2 * C + c] = (float)invstd * (gamma ? gamma[c] : 1.0f);
    coef[3 * C + c] = beta ? beta[c] : 0.0f;
    save_mean[c] = (float)mean;
    save_invstd[c] = (float)invstd;
    const double m = momentum;
    const double unbias = N > 1 ? (double)N / (double)(N - 1) : NAN;
    if (running_mean) running_mean[c] = (float)((1.0 - m) * running_mean[c] + m * mean);
    if (running_var) running_var[c] = (float)((1.0 - m) * running_var[c] + m * unbias * var);
  }
}

__global__ void bn_eval_coef(int64_t C, const float* __restrict gamma, const float* __restrict beta,
                             const float* __restrict running_var, float eps, float* __restrict coef) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    const double invstd = 1.0 / sqrt((double)running_var[c] + (double)eps);
    coef[c] = (float)invstd * (gamma ? gamma[c] : 1.0f);
    coef[C + c] = beta ? beta[c] : 0.0f;
  }
}

// y = ((x − mu) − mu_lo)·scale + shift (mu_lo nullable).
__global__ void bn_affine(const float* __restrict x, float* __restrict y, int64_t N, int64_t C,
                          const float* __restrict mu, const float* __restrict mu_lo, const float* __restrict scale,
                          const float* __restrict shift) {
  const int64_t n = N * C;
  for (RowColWalk w(C); w.q < n; w.next()) {
    const int64_t i = w.q, c = w.c;
    const float d = mu_lo ? (x[i] - mu[c]) - mu_lo[c] : x[i] - mu[c];
    y[i] = d * scale[c] + shift[c];
  }
}

struct BwdSums {
  const float* dy;
  const float* x;
  const float* mean;
  int64_t C;
  __device__ void operator()(int64_t i, int64_t c, double* acc) const {
    const double g = dy[i * C + c];
    acc[0] += g;
    acc[1] += g * ((double)x[i * C + c] - (double)mean[c]);
  }
};

// coef: [3][C] = a, b, k.
__global__ void bn_bwd_finish(const double* __restrict part, int64_t N, int64_t C, int64_t R,
                              const float* __restrict gamma, const float* __restrict save_invstd,
                              float* __restrict dgamma, float* __restrict dbeta, bool accumulate,
                              float* __restrict coef) {
  const double invN = N > 0 ? 1.0 / (double)N : 0.0;
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    const double invstd = save_invstd[c];
    const double db = column_total(part, 0, R, C, c);
    const double dg = column_total(part, 1, R, C, c) * invstd;
    coef[c] = (float)(invstd * (gamma ? (double)gamma[c] : 1.0));
    coef[C + c] = (float)(db * invN);
    coef[2 * C + c] = (float)(invstd * dg * invN);
    if (dbeta) dbeta[c] = accumulate ? (float)((double)dbeta[c] + db) : (float)db;
    if (dgamma) dgamma[c] = accumulate ? (float)((double)dgamma[c] + dg) : (float)dg;
  }
}

__global__ void bn_bwd_dx(const float* __restrict dy, const float* __restrict x, const float* __restrict mean,
                          const float* __restrict coef, int64_t N, int64_t C, float* __restrict dx) {
  const int64_t n = N * C;
  for (RowColWalk w(C); w.q < n; w.next()) {
    const int64_t i = w.q, c = w.c;
    dx[i] = coef[c] * (dy[i] - coef[C + c] - (x[i] - mean[c]) * coef[2 * C + c]);
  }
}

// ---- BatchNorm2d: [N, C, S] ---------------------------------------------------

// Chunks per channel: about 512 blocks in all when the channels are few, at
// least ~1024 values a chunk. Depends only on (M, C).
int64_t channel_chunks(int64_t M, int64_t C) {
  int64_t r = 512 / (C > 0 ? C : 1);
  const int64_t by_values = (M + 1023) / 1024;
  if (r > by_values) r = by_values;
  if (r > 65535) r = 65535;
  return r < 1 ? 1 : r;
}

dim3 channel_grid(int64_t C, int64_t R) {
  return dim3(blocks_for(C, 1, kMaxRowGrid), blocks_for(R, 1, kMaxGridY));
}

// This thread's first value m = m0 + threadIdx.x of a chunk as (n, s) =
// (w.r, w.c), stepping by the block's width; x[n, c, s] is x[chan_index(w, c, C, S)].
__device__ __forceinline__ RowColWalk chunk_walk(int64_t m0, int64_t S) {
  return RowColWalk(m0 + threadIdx.x, (int32_t)blockDim.x, S);
}
__device__ __forceinline__ int64_t chan_index(const RowColWalk& w, int64_t c, int64_t C, int64_t S) {
  return (w.r * C + c) * S + w.c;
}

// part[r·C + c] = chunk mean, part[(R + r)·C + c] = chunk Σ(x − mean)² (the
// layout bn_train_finish reads, with M values per channel).
__global__ void bn2d_chunk_moments(const float* __restrict x, int64_t N, int64_t C, int64_t S, int64_t R,
                                   double* __restrict part) {
  __shared__ double sh[32];
  const int64_t M = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x)
    for (int64_t r = blockIdx.y; r < R; r += gridDim.y) {
      const int64_t m0 = M * r / R, m1 = M * (r + 1) / R;
      const RowColWalk first = chunk_walk(m0, S);
      double s = 0.0;
      for (RowColWalk w = first; w.q < m1; w.next()) s += (double)x[chan_index(w, c, C, S)];
      const double mu = m1 > m0 ? block_sum(s, sh) / (double)(m1 - m0) : 0.0;
      double q = 0.0;
      for (RowColWalk w = first; w.q < m1; w.next()) {
        const double d = (double)x[chan_index(w, c, C, S)] - mu;
        q += d * d;
      }
      q = block_sum(q, sh);
      if (threadIdx.x == 0) {
        part[r * C + c] = mu;
        part[(R + r) * C + c] = q;
      }
    }
}

// y = ((x − mu) − mu_lo)·scale + shift (mu_lo nullable), then max(·, 0) when relu.
__global__ void bn2d_affine(const float* __restrict x, float* __restrict y, int64_t n, int64_t C, int64_t S,
                            const float* __restrict mu, const float* __restrict mu_lo, const float* __restrict scale,
                            const float* __restrict shift, bool relu) {
  for (ChannelWalk w(S, C); w.q() < n; w.next()) {
    const int64_t i = w.q(), c = w.ch;
    const float d = mu_lo ? (x[i] - mu[c]) - mu_lo[c] : x[i] - mu[c];
    const float v = d * scale[c] + shift[c];
    y[i] = relu && v < 0.0f ? 0.0f : v;  // NaN stays NaN
  }
}

// part[(0·R + r)·C + c] = Σ dy', part[(1·R + r)·C + c] = Σ dy'·(x − μ) over
// chunk r of channel c, dy' = y ? dy·[y > 0] : dy (bn_bwd_finish's layout).
__global__ void bn2d_bwd_sums(const float* __restrict dy, const float* __restrict x, const float* __restrict y,
                              const float* __restrict mean, int64_t N, int64_t C, int64_t S, int64_t R,
                              double* __restrict part) {
  __shared__ double sh[32];
  const int64_t M = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x)
    for (int64_t r = blockIdx.y; r < R; r += gridDim.y) {
      const int64_t m0 = M * r / R, m1 = M * (r + 1) / R;
      const double mu = mean[c];
      double sg = 0.0, sgx = 0.0;
      for (RowColWalk w = chunk_walk(m0, S); w.q < m1; w.next()) {
        const int64_t i = chan_index(w, c, C, S);
        const double g = (y && !(y[i] > 0.0f)) ? 0.0 : (double)dy[i];
        sg += g;
        sgx += g * ((double)x[i] - mu);
      }
      sg = block_sum(sg, sh);
      sgx = block_sum(sgx, sh);
      if (threadIdx.x == 0) {
        part[r * C + c] = sg;
        part[(R + r) * C + c] = sgx;
      }
    }
}

// dx = a·(dy' − b − (x − μ)·k), coef = [a, b, k] per channel (bn_bwd_finish).
__global__ void bn2d_bwd_dx(const float* __restrict dy, const float* __restrict x, const float* __restrict y,
                            const float* __restrict mean, const float* __restrict coef, int64_t n, int64_t C,
                            int64_t S, float* __restrict dx) {
  for (ChannelWalk w(S, C); w.q() < n; w.next()) {
    const int64_t i = w.q(), c = w.ch;
    const float g = (y && !(y[i] > 0.0f)) ? 0.0f : dy[i];
    dx[i] = coef[c] * (g - coef[C + c] - (x[i] - mean[c]) * coef[2 * C + c]);
  }
}

}  // namespace

void batchnorm1d_forward_train(const float* x, float* y, int64_t N, int64_t C, const float* gamma, const float* beta,
                               float eps, float momentum, float* running_mean, float* running_var, float* save_mean,
                               float* save_invstd) {
  if (C <= 0) return;
  const int64_t R = column_chunks(N, C);
  Scratch part((size_t)(2 * R * C) * sizeof(double));
  Scratch coef((size_t)(4 * C) * sizeof(float));
  cudaStream_t st = stream();
  bn_chunk_moments<<<column_grid(C, R), column_block(), 0, st>>>(x, N, C, R, part.as<double>());
  IMIX_CUDA_LAUNCHED("batchnorm1d_forward_train (moments)");
  float* cf = coef.as<float>();
  bn_train_finish<<<blocks_for(C), kThreads, 0, st>>>(part.as<double>(), N, C, R, gamma, beta, eps, momentum,
                                                      running_mean, running_var, save_mean, save_invstd, cf);
  IMIX_CUDA_LAUNCHED("batchnorm1d_forward_train (statistics)");
  if (N <= 0) return;
  bn_affine<<<blocks_for(N * C), kThreads, 0, st>>>(x, y, N, C, cf, cf + C, cf + 2 * C, cf + 3 * C);
  IMIX_CUDA_LAUNCHED("batchnorm1d_forward_train");
}

void batchnorm1d_forward_eval(const float* x, float* y, int64_t N, int64_t C, const float* gamma, const float* beta,
                              const float* running_mean, const float* running_var, float eps) {
  if (C <= 0 || N <= 0) return;
  Scratch coef((size_t)(2 * C) * sizeof(float));
  float* cf = coef.as<float>();
  cudaStream_t st = stream();
  bn_eval_coef<<<blocks_for(C), kThreads, 0, st>>>(C, gamma, beta, running_var, eps, cf);
  IMIX_CUDA_LAUNCHED("batchnorm1d_forward_eval (coefficients)");
  bn_affine<<<blocks_for(N * C), kThreads, 0, st>>>(x, y, N, C, running_mean, nullptr, cf, cf + C);
  IMIX_CUDA_LAUNCHED("batchnorm1d_forward_eval");
}

void batchnorm1d_backward(const float* dy, const float* x, const float* gamma, const float* save_mean,
                          const float* save_invstd, int64_t N, int64_t C, float* dx, float* dgamma, float* dbeta,
                          bool accumulate) {
  if (C <= 0) return;
  const int64_t R = column_chunks(N, C);
  Scratch part((size_t)(2 * R * C) * sizeof(double));
  Scratch coef((size_t)(3 * C) * sizeof(float));
  float* cf = coef.as<float>();
  cudaStream_t st = stream();
  column_partials<2><<<column_grid(C, R), column_block(), 0, st>>>(N, C, R, BwdSums{dy, x, save_mean, C},
                                                                   part.as<double>());
  IMIX_CUDA_LAUNCHED("batchnorm1d_backward (sums)");
  bn_bwd_finish<<<blocks_for(C), kThreads, 0, st>>>(part.as<double>(), N, C, R, gamma, save_invstd, dgamma, dbeta,
                                                    accumulate, cf);
  IMIX_CUDA_LAUNCHED("batchnorm1d_backward (coefficients)");
  if (N <= 0) return;
  bn_bwd_dx<<<blocks_for(N * C), kThreads, 0, st>>>(dy, x, save_mean, cf, N, C, dx);
  IMIX_CUDA_LAUNCHED("batchnorm1d_backward");
}

void batchnorm2d_forward_train(const float* x, float* y, int64_t N, int64_t C, int64_t S, const float* gamma,
                               const float* beta, float eps, float momentum, float* running_mean, float* running_var,
                               float* save_mean, float* save_invstd, bool relu) {
  const int64_t M = N * S, R = channel_chunks(M, C);
  if (C <= 0 || M <= 0) return;  // no statistics: nothing is written (as the CPU)
  Scratch part((size_t)(2 * R * C) * sizeof(double));
  Scratch coef((size_t)(4 * C) * sizeof(float));
  cudaStream_t st = stream();
  bn2d_chunk_moments<<<channel_grid(C, R), kThreads, 0, st>>>(x, N, C, S, R, part.as<double>());
  IMIX_CUDA_LAUNCHED("batchnorm2d_forward_train (moments)");
  float* cf = coef.as<float>();
  bn_train_finish<<<blocks_for(C), kThreads, 0, st>>>(part.as<double>(), M, C, R, gamma, beta, eps, momentum,
                                                      running_mean, running_var, save_mean, save_invstd, cf);
  IMIX_CUDA_LAUNCHED("batchnorm2d_forward_train (statistics)");
  bn2d_affine<<<blocks_for(M * C), kThreads, 0, st>>>(x, y, M * C, C, S, cf, cf + C, cf + 2 * C, cf + 3 * C, relu);
  IMIX_CUDA_LAUNCHED("batchnorm2d_forward_train");
}

void batchnorm2d_forward_eval(const float* x, float* y, int64_t N, int64_t C, int64_t S, const float* gamma,
                              const float* beta, const float* running_mean, const float* running_var, float eps,
                              bool relu) {
  if (C <= 0 || N <= 0 || S <= 0) return;
  Scratch coef((size_t)(2 * C) * sizeof(float));
  float* cf = coef.as<float>();
  cudaStream_t st = stream();
  bn_eval_coef<<<blocks_for(C), kThreads, 0, st>>>(C, gamma, beta, running_var, eps, cf);
  IMIX_CUDA_LAUNCHED("batchnorm2d_forward_eval (coefficients)");
  bn2d_affine<<<blocks_for(N * C * S), kThreads, 0, st>>>(x, y, N * C * S, C, S, running_mean, nullptr, cf, cf + C,
                                                         relu);
  IMIX_CUDA_LAUNCHED("batchnorm2d_forward_eval");
}

void batchnorm2d_backward(const float* dy, const float* x, const float* y, const float* gamma, const float* save_mean,
                          const float* save_invstd, int64_t N, int64_t C, int64_t S, float* dx, float* dgamma,
                          float* dbeta, bool accumulate) {
  if (C <= 0) return;
  const int64_t M = N * S, R = channel_chunks(M, C);
  Scratch part((size_t)(2 * R * C) * sizeof(double));
  Scratch coef((size_t)(3 * C) * sizeof(float));
  float* cf = coef.as<float>();
  cudaStream_t st = stream();
  bn2d_bwd_sums<<<channel_grid(C, R), kThreads, 0, st>>>(dy, x, y, save_mean, N, C, S, R, part.as<double>());
  IMIX_CUDA_LAUNCHED("batchnorm2d_backward (sums)");
  bn_bwd_finish<<<blocks_for(C), kThreads, 0, st>>>(part.as<double>(), M, C, R, gamma, save_invstd, dgamma, dbeta,
                                                    accumulate, cf);
  IMIX_CUDA_LAUNCHED("batchnorm2d_backward (coefficients)");
  if (M <= 0) return;
  bn2d_bwd_dx<<<blocks_for(M * C), kThreads, 0, st>>>(dy, x, y, save_mean, cf, M * C, C, S, dx);
  IMIX_CUDA_LAUNCHED("batchnorm2d_backward");
}

}  // namespace imix::cuda
