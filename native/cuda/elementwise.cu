// Glue kernels on the GPU (formulas as native/cpu/elementwise.cpp):
// grid-stride elementwise loops (axpby, row_scale_add, maxout, gather_rows),
// add_relu_forward (the residual join y = max(a + b, 0)),
// a warp per row for rowdot (float accumulation, as the CPU), and a
// two-stage deterministic sum: contiguous chunks per block reduced in
// double, then the partials in a fixed order; the total is the one host
// readback.
#include "../common/maxout.h"
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

#define IMIX_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// x may be y (in place; the binding allows it): no __restrict, as in ema.cu.
__global__ void axpby_kernel(float a, const float* x, float b, float* y, int64_t n) {
  if (b == 0.0f) {
    IMIX_GRID_STRIDE(i, n) y[i] = a * x[i];  // y is not read
  } else {
    IMIX_GRID_STRIDE(i, n) y[i] = a * x[i] + b * y[i];
  }
}

// y may alias a or b (same index): no __restrict.
__global__ void add_relu_kernel(const float* a, const float* b, float* y, int64_t n) {
  IMIX_GRID_STRIDE(i, n) {
    const float v = a[i] + b[i];
    y[i] = v < 0.0f ? 0.0f : v;  // NaN stays NaN, as relu_forward
  }
}

__global__ void rowdot_kernel(const float* __restrict a, const float* __restrict b, float* __restrict out,
                              int64_t out_stride, int64_t N, int64_t D, float alpha) {
  const int lane = threadIdx.x & 31;
  const int64_t rpb = blockDim.x / 32;
  for (int64_t i = blockIdx.x * rpb + threadIdx.x / 32; i < N; i += (int64_t)gridDim.x * rpb) {
    const float* ai = a + i * D;
    const float* bi = b + i * D;
    float acc = 0.0f;
    for (int64_t d = lane; d < D; d += 32) acc += ai[d] * bi[d];
    acc = warp_sum(acc);
    if (lane == 0) out[i * out_stride] = alpha * acc;
  }
}

__global__ void row_scale_add_kernel(float* __restrict y, const float* __restrict s, int64_t s_stride,
                                     const float* __restrict x, int64_t N, int64_t D, float alpha) {
  const int64_t n = N * D;
  for (RowColWalk w(D); w.q < n; w.next()) {  // the row by additions, not q / D
    const float c = alpha * s[w.r * s_stride];
    y[w.q] += c * x[w.q];
  }
}

__global__ void maxout_fwd_kernel(const float* __restrict x, float* __restrict y, int32_t* __restrict argmax,
                                  int64_t NF, int64_t k) {
  IMIX_GRID_STRIDE(t, NF) maxout_group(x + t * k, k, y + t, argmax + t);
}

__global__ void maxout_bwd_kernel(const float* __restrict dy, const int32_t* __restrict argmax, float* __restrict dx,
                                  int64_t NF, int64_t k) {
  IMIX_GRID_STRIDE(t, NF) {
    const int32_t am = argmax[t];
    const float g = dy[t];
    float* o = dx + t * k;
    for (int64_t j = 0; j < k; ++j) o[j] = j == am ? g : 0.0f;
  }
}

__global__ void gather_rows_kernel(const float* __restrict src, const int32_t* __restrict idx, float* __restrict out,
                                   int64_t B, int64_t F) {
  for (int64_t b = blockIdx.y; b < B; b += gridDim.y) {
    const float* s = src + (int64_t)idx[b] * F;
    float* o = out + b * F;
    for (int64_t f = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; f < F; f += (int64_t)gridDim.x * blockDim.x)
      o[f] = s[f];
  }
}

__global__ void sum_partials(const float* __restrict x, int64_t n, double* __restrict part) {
  __shared__ double sh[32];
  const int64_t G = gridDim.x, b = blockIdx.x;
  const int64_t i0 = n * b / G, i1 = n * (b + 1) / G;
  double acc = 0.0;
  for (int64_t i = i0 + threadIdx.x; i < i1; i += blockDim.x) acc += (double)x[i];
  acc = block_sum(acc, sh);
  if (threadIdx.x == 0) part[b] = acc;
}

}  // namespace

void axpby(float a, const float* x, float b, float* y, int64_t n) {
  if (n <= 0) return;
  axpby_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(a, x, b, y, n);
  IMIX_CUDA_LAUNCHED("axpby");
}

void add_relu_forward(const float* a, const float* b, float* y, int64_t n) {
  if (n <= 0) return;
  add_relu_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(a, b, y, n);
  IMIX_CUDA_LAUNCHED("add_relu_forward");
}

void rowdot(const float* a, const float* b, float* out, int64_t out_stride, int64_t N, int64_t D, float alpha) {
  if (N <= 0) return;
  rowdot_kernel<<<blocks_for(N, 8), 256, 0, stream()>>>(a, b, out, out_stride, N, D, alpha);
  IMIX_CUDA_LAUNCHED("rowdot");
}

void row_scale_add(float* y, const float* s, int64_t s_stride, const float* x, int64_t N, int64_t D, float alpha) {
  if (N <= 0 || D <= 0) return;
  row_scale_add_kernel<<<blocks_for(N * D), kThreads, 0, stream()>>>(y, s, s_stride, x, N, D, alpha);
  IMIX_CUDA_LAUNCHED("row_scale_add");
}

void maxout_forward(const float* x, float* y, int32_t* argmax, int64_t N, int64_t F, int64_t k) {
  if (N * F <= 0) return;
  maxout_fwd_kernel<<<blocks_for(N * F), kThreads, 0, stream()>>>(x, y, argmax, N * F, k);
  IMIX_CUDA_LAUNCHED("maxout_forward");
}

void maxout_backward(const float* dy, const int32_t* argmax, float* dx, int64_t N, int64_t F, int64_t k) {
  if (N * F <= 0) return;
  maxout_bwd_kernel<<<blocks_for(N * F), kThreads, 0, stream()>>>(dy, argmax, dx, N * F, k);
  IMIX_CUDA_LAUNCHED("maxout_backward");
}

void gather_rows(const float* src, const int32_t* idx, float* out, int64_t B, int64_t F) {
  if (B <= 0 || F <= 0) return;
  dim3 grid(blocks_for(F, kThreads, kMaxColumnBlocks), blocks_for(B, 1, kMaxGridY));
  gather_rows_kernel<<<grid, kThreads, 0, stream()>>>(src, idx, out, B, F);
  IMIX_CUDA_LAUNCHED("gather_rows");
}

double sum(const float* x, int64_t n) {
  if (n <= 0) return 0.0;
  const int64_t G = blocks_for(n, 8 * 1024, kMaxSumBlocks);  // ≥ 8K elements per block
  Scratch part((size_t)G * sizeof(double));
  sum_partials<<<(unsigned)G, kThreads, 0, stream()>>>(x, n, part.as<double>());
  IMIX_CUDA_LAUNCHED("sum");
  return sum_to_host(part.as<double>(), G);
}

}  // namespace imix::cuda
