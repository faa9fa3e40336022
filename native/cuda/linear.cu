// The encoder's linear-layer building blocks on the GPU (formulas as in
// native/cpu/linear.cpp):
//   forward   y = x·Wᵀ (+ b)          gemm NT, then bias_add
//   backward  dx = dy·W, dW (+)= dyᵀ·x, db (+)= Σ_rows dy
//   bias_add, relu forward/backward: grid-stride elementwise kernels (bias_add
//   follows each element's column by additions: RowColWalk, common.cuh)
//   bias_grad: a column reduction (colreduce.cuh), double accumulation
#include "colreduce.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

// The column of each element by RowColWalk (common.cuh): no per-element modulo.
__global__ void bias_add_kernel(float* __restrict y, const float* __restrict b, int64_t N, int64_t C) {
  const int64_t n = N * C;
  for (RowColWalk w(C); w.q < n; w.next()) y[w.q] += b[w.c];
}

struct DySum {
  const float* dy;
  int64_t C;
  __device__ void operator()(int64_t i, int64_t c, double* acc) const { acc[0] += (double)dy[i * C + c]; }
};

__global__ void bias_grad_finish(const double* __restrict part, int64_t R, int64_t C, float* __restrict db,
                                 bool accumulate) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    const double s = column_total(part, 0, R, C, c);
    db[c] = accumulate ? (float)((double)db[c] + s) : (float)s;
  }
}

// y may alias x (same index): no __restrict.
__global__ void relu_fwd_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float v = x[i];
    y[i] = v < 0.0f ? 0.0f : v;  // NaN stays NaN
  }
}

__global__ void relu_bwd_kernel(const float* dy, const float* __restrict y, float* dx, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

}  // namespace

void linear_forward(const float* x, const float* W, const float* b, float* y, int64_t N, int64_t in, int64_t out) {
  gemm(false, true, N, out, in, 1.0f, x, in, W, in, 0.0f, y, out);
  if (b) bias_add(y, b, N, out);
}

void linear_backward(const float* x, const float* W, const float* dy, float* dx, float* dW, float* db, int64_t N,
                     int64_t in, int64_t out, bool accumulate) {
  if (dx) gemm(false, false, N, in, out, 1.0f, dy, out, W, in, 0.0f, dx, in);
  gemm(true, false, out, in, N, 1.0f, dy, out, x, in, accumulate ? 1.0f : 0.0f, dW, in);
  if (db) bias_grad(dy, db, N, out, accumulate);
}

void bias_add(float* y, const float* b, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  bias_add_kernel<<<blocks_for(N * C), kThreads, 0, stream()>>>(y, b, N, C);
  IMIX_CUDA_LAUNCHED("bias_add");
}

void bias_grad(const float* dy, float* db, int64_t N, int64_t C, bool accumulate) {
  if (C <= 0) return;
  const int64_t R = column_chunks(N, C);
  Scratch part((size_t)(R * C) * sizeof(double));
  column_partials<1><<<column_grid(C, R), column_block(), 0, stream()>>>(N, C, R, DySum{dy, C}, part.as<double>());
  IMIX_CUDA_LAUNCHED("bias_grad (partials)");
  bias_grad_finish<<<blocks_for(C), kThreads, 0, stream()>>>(part.as<double>(), R, C, db, accumulate);
  IMIX_CUDA_LAUNCHED("bias_grad");
}

void relu_forward(const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  relu_fwd_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(x, y, n);
  IMIX_CUDA_LAUNCHED("relu_forward");
}

void relu_backward(const float* dy, const float* y, float* dx, int64_t n) {
  if (n <= 0) return;
  relu_bwd_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(dy, y, dx, n);
  IMIX_CUDA_LAUNCHED("relu_backward");
}

}  // namespace imix::cuda
