// Row-wise L2 normalization on the GPU (formulas as native/cpu/normalize.cpp):
//   forward:  n_i = max(‖x_i‖, eps), y_i = x_i / n_i, norms[i] = n_i   (y may alias x)
//   backward: dx_i = (dy_i − y_i·(y_i·dy_i)) / n_i                      (dx may alias dy)
// A group of G threads per row — one warp (8 rows per block) for the usual
// D ≤ 2048, a whole 256-thread block for longer rows — reduces the sum of
// squares / the dot product in double (as the CPU does) with a fixed shuffle
// tree, then writes the row. Each element is read and written by the same
// thread, which is what makes the in-place forms safe.
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

template <int G>
__device__ __forceinline__ double group_sum(double v, double* sh) {
  if constexpr (G == 32) return warp_sum(v);
  else return block_sum(v, sh);
}

template <int G>
__global__ void l2n_fwd(const float* x, float* y, float* __restrict norms, int64_t N, int64_t D, float eps) {
  __shared__ double sh[32];
  const int lane = threadIdx.x % G;
  const int64_t rpb = blockDim.x / G;
  for (int64_t i = blockIdx.x * rpb + threadIdx.x / G; i < N; i += (int64_t)gridDim.x * rpb) {
    const float* xi = x + i * D;
    float* yi = y + i * D;
    double ss = 0.0;
    for (int64_t d = lane; d < D; d += G) {
      const double v = xi[d];
      ss += v * v;
    }
    ss = group_sum<G>(ss, sh);
    float n = (float)sqrt(ss);
    n = n < eps ? eps : n;  // NaN-propagating
    if (lane == 0) norms[i] = n;
    for (int64_t d = lane; d < D; d += G) yi[d] = xi[d] / n;
  }
}

template <int G>
__global__ void l2n_bwd(const float* dy, const float* __restrict y, const float* __restrict norms, float* dx,
                        int64_t N, int64_t D) {
  __shared__ double sh[32];
  const int lane = threadIdx.x % G;
  const int64_t rpb = blockDim.x / G;
  for (int64_t i = blockIdx.x * rpb + threadIdx.x / G; i < N; i += (int64_t)gridDim.x * rpb) {
    const float* dyi = dy + i * D;
    const float* yi = y + i * D;
    float* dxi = dx + i * D;
    double dot = 0.0;
    for (int64_t d = lane; d < D; d += G) dot += (double)yi[d] * (double)dyi[d];
    dot = group_sum<G>(dot, sh);
    const float dd = (float)dot, n = norms[i];
    for (int64_t d = lane; d < D; d += G) dxi[d] = (dyi[d] - yi[d] * dd) / n;
  }
}

bool long_rows(int64_t D) { return D >= 2048; }

}  // namespace

void l2normalize_forward(const float* x, float* y, float* norms, int64_t N, int64_t D, float eps) {
  if (N <= 0) return;
  if (long_rows(D)) l2n_fwd<256><<<blocks_for(N, 1), 256, 0, stream()>>>(x, y, norms, N, D, eps);
  else l2n_fwd<32><<<blocks_for(N, 8), 256, 0, stream()>>>(x, y, norms, N, D, eps);
  IMIX_CUDA_LAUNCHED("l2normalize_forward");
}

void l2normalize_backward(const float* dy, const float* y, const float* norms, float* dx, int64_t N, int64_t D) {
  if (N <= 0) return;
  if (long_rows(D)) l2n_bwd<256><<<blocks_for(N, 1), 256, 0, stream()>>>(dy, y, norms, dx, N, D);
  else l2n_bwd<32><<<blocks_for(N, 8), 256, 0, stream()>>>(dy, y, norms, dx, N, D);
  IMIX_CUDA_LAUNCHED("l2normalize_backward");
}

}  // namespace imix::cuda
