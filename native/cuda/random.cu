// Counter-based random draws on the GPU, on the Philox stream layout of
// native/common/philox.h (the same header the CPU uses): element i of a
// call (seed, offset) takes word i % 4 of block philox(seed, i / 4, offset).
// One thread per Philox block computes its four words once and writes four
// elements. Uniforms ((word >> 8)·2⁻²⁴, exact) and input_drop are therefore
// bit-identical to the CPU. Normals use the same Box–Muller float
// expressions, but CUDA's logf/sinf/cosf (≤ 1–2 ulp, no fast-math) are not
// glibc's, so a normal draw may differ from the CPU's in the last bit or two.
// input_drop and gaussian_noise may run in place: each thread reads its own
// elements before writing them. When the buffers are 16-byte aligned a
// thread's four elements move as one float4 load and one float4 store.
#include <cstdint>

#include "../common/philox.h"
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

constexpr float kTwoPi = 6.28318530717958647692f;

// Philox block b's four elements 4b..4b+3 (those below n) as one 128-bit
// access when Vec (the buffer is 16-byte aligned, so 4b is too) and the
// block is whole; element by element otherwise (the last block of an n not
// a multiple of 4, or a buffer off the 16-byte boundary).
template <bool Vec>
__device__ __forceinline__ void load4(const float* x, int64_t b, int64_t n, float (&v)[4]) {
  if (Vec && 4 * b + 4 <= n) {
    const float4 q = reinterpret_cast<const float4*>(x)[b];
    v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
    return;
  }
#pragma unroll
  for (int k = 0; k < 4; ++k) v[k] = 4 * b + k < n ? x[4 * b + k] : 0.0f;
}
template <bool Vec>
__device__ __forceinline__ void store4(float* out, int64_t b, int64_t n, const float (&v)[4]) {
  if (Vec && 4 * b + 4 <= n) {
    reinterpret_cast<float4*>(out)[b] = make_float4(v[0], v[1], v[2], v[3]);
    return;
  }
#pragma unroll
  for (int k = 0; k < 4; ++k)
    if (4 * b + k < n) out[4 * b + k] = v[k];
}

template <bool Vec>
__global__ void uniform_kernel(float* __restrict out, int64_t n, uint64_t seed, uint64_t offset) {
  const int64_t nb = (n + 3) / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < nb; b += (int64_t)gridDim.x * blockDim.x) {
    const Philox4 r = philox4x32_10(seed, (uint64_t)b, offset);
    float v[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) v[k] = u32_to_unit(r.v[k]);
    store4<Vec>(out, b, n, v);
  }
}

// z for the word pair (w0, w1): cosine branch z0, sine branch z1.
__device__ __forceinline__ void box_muller(uint32_t w0, uint32_t w1, float* z0, float* z1) {
  const float u1 = u32_to_unit_open0(w0), u2 = u32_to_unit(w1);
  const float r = sqrtf(-2.0f * logf(u1));
  const float t = kTwoPi * u2;
  *z0 = r * cosf(t);
  *z1 = r * sinf(t);
}

// Mode 0: out = mean + std·z; mode 1: out = x + std·z (x may be out: each
// thread reads its four elements before writing them).
template <int Mode, bool Vec>
__global__ void normal_kernel(const float* x, float* out, int64_t n, uint64_t seed, uint64_t offset, float mean,
                              float sd) {
  const int64_t nb = (n + 3) / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < nb; b += (int64_t)gridDim.x * blockDim.x) {
    const Philox4 r = philox4x32_10(seed, (uint64_t)b, offset);
    float z[4], v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    box_muller(r.v[0], r.v[1], &z[0], &z[1]);
    box_muller(r.v[2], r.v[3], &z[2], &z[3]);
    if (Mode == 1) load4<Vec>(x, b, n, v);
#pragma unroll
    for (int k = 0; k < 4; ++k) v[k] = Mode == 0 ? mean + sd * z[k] : v[k] + sd * z[k];
    store4<Vec>(out, b, n, v);
  }
}

// x may be out, as above.
template <bool Vec>
__global__ void drop_kernel(const float* x, float* out, int64_t n, float p, uint64_t seed, uint64_t offset) {
  const int64_t nb = (n + 3) / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < nb; b += (int64_t)gridDim.x * blockDim.x) {
    const Philox4 r = philox4x32_10(seed, (uint64_t)b, offset);
    float v[4];
    load4<Vec>(x, b, n, v);
#pragma unroll
    for (int k = 0; k < 4; ++k) v[k] = u32_to_unit(r.v[k]) < p ? 0.0f : v[k];
    store4<Vec>(out, b, n, v);
  }
}

unsigned philox_blocks(int64_t n) { return blocks_for((n + 3) / 4); }
// 128-bit accesses when every buffer is 16-byte aligned (whole tensors are;
// a view may start anywhere).
bool aligned16(const void* a, const void* b = nullptr) { return (((uintptr_t)a | (uintptr_t)b) & 15) == 0; }

}  // namespace

void rand_uniform(float* out, int64_t n, uint64_t seed, uint64_t offset) {
  if (n <= 0) return;
  if (aligned16(out)) uniform_kernel<true><<<philox_blocks(n), kThreads, 0, stream()>>>(out, n, seed, offset);
  else uniform_kernel<false><<<philox_blocks(n), kThreads, 0, stream()>>>(out, n, seed, offset);
  IMIX_CUDA_LAUNCHED("rand_uniform");
}

void rand_normal(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float std) {
  if (n <= 0) return;
  if (aligned16(out))
    normal_kernel<0, true><<<philox_blocks(n), kThreads, 0, stream()>>>(nullptr, out, n, seed, offset, mean, std);
  else normal_kernel<0, false><<<philox_blocks(n), kThreads, 0, stream()>>>(nullptr, out, n, seed, offset, mean, std);
  IMIX_CUDA_LAUNCHED("rand_normal");
}

void input_drop(const float* x, float* out, int64_t n, float p, uint64_t seed, uint64_t offset) {
  if (n <= 0) return;
  if (aligned16(x, out)) drop_kernel<true><<<philox_blocks(n), kThreads, 0, stream()>>>(x, out, n, p, seed, offset);
  else drop_kernel<false><<<philox_blocks(n), kThreads, 0, stream()>>>(x, out, n, p, seed, offset);
  IMIX_CUDA_LAUNCHED("input_drop");
}

void gaussian_noise(const float* x, float* out, int64_t n, float std, uint64_t seed, uint64_t offset) {
  if (n <= 0) return;
  if (aligned16(x, out))
    normal_kernel<1, true><<<philox_blocks(n), kThreads, 0, stream()>>>(x, out, n, seed, offset, 0.0f, std);
  else normal_kernel<1, false><<<philox_blocks(n), kThreads, 0, stream()>>>(x, out, n, seed, offset, 0.0f, std);
  IMIX_CUDA_LAUNCHED("gaussian_noise");
}

}  // namespace imix::cuda
