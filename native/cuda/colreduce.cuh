// Column reductions over x[N, C] row-major (bias_grad, BatchNorm): a column
// statistic is a sum over rows, i.e. with stride C. A block of 32×8 threads
// owns 32 adjacent columns (each warp reads 128 contiguous bytes of a row)
// and one chunk of rows; threads accumulate in double, the 8 row-lanes are
// combined in shared memory in a fixed order, and each (chunk, column)
// partial goes to a [R, C] scratch array. A second small kernel combines the
// R chunks of a column in chunk order. Deterministic for a given (N, C).
#pragma once
#include "common.cuh"

namespace imix::cuda {

constexpr int kColTile = 32, kRowLanes = 8;

// Row chunks for a column reduction: enough blocks to fill a GPU (~512
// in all), at least 32 rows per chunk. Depends only on (N, C).
inline int64_t column_chunks(int64_t N, int64_t C) {
  const int64_t tiles = (C + kColTile - 1) / kColTile;
  int64_t r = 512 / (tiles > 0 ? tiles : 1);
  const int64_t by_rows = (N + 31) / 32;
  if (r > by_rows) r = by_rows;
  if (r > kMaxGridY) r = kMaxGridY;  // R is gridDim.y (column_grid)
  return r < 1 ? 1 : r;
}

inline dim3 column_grid(int64_t C, int64_t R) { return dim3((unsigned)((C + kColTile - 1) / kColTile), (unsigned)R); }
inline dim3 column_block() { return dim3(kColTile, kRowLanes); }

// part[(k·R + r)·C + c] = Σ_{i in chunk r} term_k(i, c), k < K. F is a
// functor: __device__ void operator()(int64_t i, int64_t c, double* acc).
template <int K, class F>
__global__ void column_partials(int64_t N, int64_t C, int64_t R, F f, double* __restrict part) {
  __shared__ double sh[K][kRowLanes][kColTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t c = (int64_t)blockIdx.x * kColTile + tx;
  const int64_t r = blockIdx.y;
  const int64_t i0 = N * r / R, i1 = N * (r + 1) / R;
  double acc[K];
#pragma unroll
  for (int k = 0; k < K; ++k) acc[k] = 0.0;
  if (c < C)
    for (int64_t i = i0 + ty; i < i1; i += kRowLanes) f(i, c, acc);
#pragma unroll
  for (int k = 0; k < K; ++k) sh[k][ty][tx] = acc[k];
  __syncthreads();
  if (ty == 0 && c < C) {
#pragma unroll
    for (int k = 0; k < K; ++k) {
      double s = 0.0;
#pragma unroll
      for (int t = 0; t < kRowLanes; ++t) s += sh[k][t][tx];
      part[((int64_t)k * R + r) * C + c] = s;
    }
  }
}

// Σ_r part[(k·R + r)·C + c] in chunk order.
__device__ __forceinline__ double column_total(const double* __restrict part, int k, int64_t R, int64_t C,
                                               int64_t c) {
  double s = 0.0;
  for (int64_t r = 0; r < R; ++r) s += part[((int64_t)k * R + r) * C + c];
  return s;
}

}  // namespace imix::cuda
