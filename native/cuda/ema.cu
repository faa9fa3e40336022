// EMA over a flat parameter buffer, one launch: t ← m·t + (1−m)·s.
// When both pointers are 16-byte aligned (whole buffers and most views are)
// the kernel moves float4s — one 128-bit load of t, one of s, one store per
// 4 elements — and the same launch's first (n mod 4) threads finish the
// tail; otherwise a scalar grid-stride kernel. Same expression as the CPU
// (a = 1−m rounded to float once).
#include <cstdint>

#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

// No __restrict: target and source may be the same buffer (the binding allows
// in place), and restrict would let the compiler read s through the
// read-only (non-coherent) cache while t, the same memory, is written.
__global__ void ema_vec4(float* t, const float* s, int64_t n, float m, float a) {
  const int64_t n4 = n / 4;
  const int64_t gid = blockIdx.x * (int64_t)blockDim.x + threadIdx.x, stride = (int64_t)gridDim.x * blockDim.x;
  float4* t4 = reinterpret_cast<float4*>(t);
  const float4* s4 = reinterpret_cast<const float4*>(s);
  for (int64_t i = gid; i < n4; i += stride) {
    float4 x = t4[i];
    const float4 y = s4[i];
    x.x = m * x.x + a * y.x;
    x.y = m * x.y + a * y.y;
    x.z = m * x.z + a * y.z;
    x.w = m * x.w + a * y.w;
    t4[i] = x;
  }
  const int64_t tail = n - 4 * n4;
  if (gid < tail) {
    const int64_t i = 4 * n4 + gid;
    t[i] = m * t[i] + a * s[i];
  }
}

__global__ void ema_scalar(float* t, const float* s, int64_t n, float m, float a) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    t[i] = m * t[i] + a * s[i];
}

}  // namespace

void ema(float* target, const float* source, int64_t n, float m) {
  if (n <= 0) return;
  const float a = 1.0f - m;
  if ((((uintptr_t)target | (uintptr_t)source) & 15) == 0) {
    ema_vec4<<<blocks_for((n + 3) / 4), kThreads, 0, stream()>>>(target, source, n, m, a);
  } else {
    ema_scalar<<<blocks_for(n), kThreads, 0, stream()>>>(target, source, n, m, a);
  }
  IMIX_CUDA_LAUNCHED("ema");
}

}  // namespace imix::cuda
