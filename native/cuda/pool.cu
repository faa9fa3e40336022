// Pooling on the GPU (formulas in native/common/kernel_api.h, geometry in
// kernel_types.h PoolGeom):
//  max-pool forward   a thread per output: scans its window in row-major order
//                     over the in-image positions (padding is −∞, so it is
//                     skipped), y = the maximum, argmax = its flat in-plane
//                     index y·W + x; the first maximum wins a tie and a NaN is
//                     a maximum (PyTorch's rule: replace when v > max or v is NaN).
//  max-pool backward  a gather, no atomics: a thread per input element sums,
//                     over the windows (i, j) that cover it in row-major order,
//                     the dy[i, j] whose argmax points at it. A serial scatter
//                     over the outputs in row-major order adds the same terms in
//                     the same order, so the result is deterministic (and equal
//                     to such a scatter bit for bit).
//                     The binding checks argmax only against the plane, so an
//                     entry may point outside its window (never one written by
//                     the forward): a second pass adds those, a block per plane,
//                     in output order (deterministic; when there are such
//                     entries the sums may round differently from the CPU's
//                     single scatter, by an ulp).
//  global average     a warp per plane, Σ in double, y = Σ/S; backward dx = dy/S.
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

#define IMIX_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__global__ void maxpool_fwd_kernel(const float* __restrict x, float* __restrict y, int32_t* __restrict argmax,
                                   PoolGeom g) {
  const int64_t total = g.N * g.C * g.Ho * g.Wo, oplane = g.Ho * g.Wo;
  IMIX_GRID_STRIDE(e, total) {
    const int64_t pl = e / oplane, q = e - pl * oplane;
    const int64_t i = q / g.Wo, j = q - i * g.Wo;
    const int64_t y0 = i * g.sh - g.ph, x0 = j * g.sw - g.pw;
    const int64_t ya = y0 < 0 ? 0 : y0, yb = y0 + g.kh < g.H ? y0 + g.kh : g.H;
    const int64_t xa = x0 < 0 ? 0 : x0, xb = x0 + g.kw < g.W ? x0 + g.kw : g.W;
    const float* xp = x + pl * g.H * g.W;
    float m = -INFINITY;
    int64_t am = ya * g.W + xa;  // the first in-image position (a window of −∞ keeps it)
    for (int64_t yy = ya; yy < yb; ++yy)
      for (int64_t xx = xa; xx < xb; ++xx) {
        const float v = xp[yy * g.W + xx];
        if (v > m || v != v) {  // v != v: v is NaN
          m = v;
          am = yy * g.W + xx;
        }
      }
    y[e] = m;
    argmax[e] = (int32_t)am;
  }
}

__global__ void maxpool_bwd_kernel(const float* __restrict dy, const int32_t* __restrict argmax,
                                   float* __restrict dx, PoolGeom g) {
  const int64_t iplane = g.H * g.W, oplane = g.Ho * g.Wo, total = g.N * g.C * iplane;
  IMIX_GRID_STRIDE(e, total) {
    const int64_t pl = e / iplane, pix = e - pl * iplane;
    const int64_t yy = pix / g.W, xx = pix - yy * g.W;
    // Windows i with i·sh − ph ≤ yy ≤ i·sh − ph + kh − 1 (likewise j).
    const int64_t ty = yy + g.ph, tx = xx + g.pw;  // ≥ 0
    const int64_t i0 = ty - g.kh + 1 <= 0 ? 0 : (ty - g.kh + 1 + g.sh - 1) / g.sh;
    const int64_t j0 = tx - g.kw + 1 <= 0 ? 0 : (tx - g.kw + 1 + g.sw - 1) / g.sw;
    const int64_t i1 = ty / g.sh < g.Ho - 1 ? ty / g.sh : g.Ho - 1;
    const int64_t j1 = tx / g.sw < g.Wo - 1 ? tx / g.sw : g.Wo - 1;
    const int64_t o = pl * oplane;
    float acc = 0.0f;
    for (int64_t i = i0; i <= i1; ++i)
      for (int64_t j = j0; j <= j1; ++j)
        if (argmax[o + i * g.Wo + j] == pix) acc += dy[o + i * g.Wo + j];
    dx[e] = acc;
  }
}

// The entries whose argmax lies outside their own window, added in output
// order per plane: the block flags a tile of blockDim.x outputs, then thread
// 0 adds the flagged ones in order.
__global__ void maxpool_bwd_strays(const float* __restrict dy, const int32_t* __restrict argmax,
                                   float* __restrict dx, PoolGeom g) {
  __shared__ unsigned char stray[kThreads];  // blockDim.x == kThreads
  const int64_t iplane = g.H * g.W, oplane = g.Ho * g.Wo, planes = g.N * g.C;
  for (int64_t pl = blockIdx.x; pl < planes; pl += gridDim.x) {
    const int32_t* ap = argmax + pl * oplane;
    for (int64_t o0 = 0; o0 < oplane; o0 += blockDim.x) {
      const int64_t o = o0 + threadIdx.x;
      bool out = false;
      if (o < oplane) {
        const int64_t i = o / g.Wo, j = o - i * g.Wo, a = ap[o];
        const int64_t ay = a / g.W - (i * g.sh - g.ph), ax = a % g.W - (j * g.sw - g.pw);
        out = ay < 0 || ay >= g.kh || ax < 0 || ax >= g.kw;
      }
      stray[threadIdx.x] = out;
      __syncthreads();
      if (threadIdx.x == 0) {
        const int64_t n = oplane - o0 < (int64_t)blockDim.x ? oplane - o0 : (int64_t)blockDim.x;
        for (int64_t t = 0; t < n; ++t)
          if (stray[t]) dx[pl * iplane + ap[o0 + t]] += dy[pl * oplane + o0 + t];
      }
      __syncthreads();  // stray[] is rewritten by the next tile
    }
  }
}

// A warp per plane: y[p] = (Σ_s x[p,s] in double) / S.
__global__ void avgpool_fwd_kernel(const float* __restrict x, float* __restrict y, int64_t P, int64_t S) {
  const int lane = threadIdx.x & 31;
  const int64_t ppb = blockDim.x / 32;
  for (int64_t p = blockIdx.x * ppb + threadIdx.x / 32; p < P; p += (int64_t)gridDim.x * ppb) {
    const float* xp = x + p * S;
    double acc = 0.0;
    for (int64_t s = lane; s < S; s += 32) acc += (double)xp[s];
    acc = warp_sum(acc);
    if (lane == 0) y[p] = (float)(acc / (double)S);
  }
}

__global__ void avgpool_bwd_kernel(const float* __restrict dy, float* __restrict dx, int64_t P, int64_t S) {
  IMIX_GRID_STRIDE(e, P * S) dx[e] = dy[e / S] / (float)S;
}

}  // namespace

void maxpool2d_forward(const float* x, float* y, int32_t* argmax, const PoolGeom& g) {
  const int64_t n = g.N * g.C * g.Ho * g.Wo;
  if (n <= 0) return;
  maxpool_fwd_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(x, y, argmax, g);
  IMIX_CUDA_LAUNCHED("maxpool2d_forward");
}

void maxpool2d_backward(const float* dy, const int32_t* argmax, float* dx, const PoolGeom& g) {
  const int64_t n = g.N * g.C * g.H * g.W;
  if (n <= 0) return;
  maxpool_bwd_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(dy, argmax, dx, g);
  IMIX_CUDA_LAUNCHED("maxpool2d_backward");
  maxpool_bwd_strays<<<blocks_for(g.N * g.C, 1, kMaxRowGrid), kThreads, 0, stream()>>>(dy, argmax, dx, g);
  IMIX_CUDA_LAUNCHED("maxpool2d_backward (entries outside their window)");
}

void avgpool_global_forward(const float* x, float* y, int64_t P, int64_t S) {
  if (P <= 0) return;
  avgpool_fwd_kernel<<<blocks_for(P, 8), 256, 0, stream()>>>(x, y, P, S);
  IMIX_CUDA_LAUNCHED("avgpool_global_forward");
}

void avgpool_global_backward(const float* dy, float* dx, int64_t P, int64_t S) {
  if (P <= 0 || S <= 0) return;
  avgpool_bwd_kernel<<<blocks_for(P * S), kThreads, 0, stream()>>>(dy, dx, P, S);
  IMIX_CUDA_LAUNCHED("avgpool_global_backward");
}

}  // namespace imix::cuda
