// Counter-based random draws on the GPU, on the Philox stream layout of
// native/common/philox.h (the same header the CPU uses): element i of a
// call (seed, offset) takes word i % 4 of block philox(seed, i / 4, offset).
// One thread per Philox block computes its four words once and writes four
// elements. Uniforms ((word >> 8)·2⁻²⁴, exact) and input_drop are therefore
// bit-identical to the CPU. Normals use the same Box–Muller float
// expressions, but CUDA's logf/sinf/cosf (≤ 1–2 ulp, no fast-math) are not
// glibc's, so a normal draw may differ from the CPU's in the last bit or two.
// input_drop and gaussian_noise may run in place: each thread reads its own
// elements before writing them.
#include "../common/philox.h"
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

constexpr float kTwoPi = 6.28318530717958647692f;

__global__ void uniform_kernel(float* __restrict out, int64_t n, uint64_t seed, uint64_t offset) {
  const int64_t nb = (n + 3) / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < nb; b += (int64_t)gridDim.x * blockDim.x) {
    const Philox4 r = philox4x32_10(seed, (uint64_t)b, offset);
#pragma unroll
    for (int k = 0; k < 4; ++k)
      if (4 * b + k < n) out[4 * b + k] = u32_to_unit(r.v[k]);
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

// Mode 0: out = mean + std·z; mode 1: out = x + std·z.
template <int Mode>
__global__ void normal_kernel(const float* x, float* out, int64_t n, uint64_t seed, uint64_t offset, float mean,
                              float sd) {
  const int64_t nb = (n + 3) / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < nb; b += (int64_t)gridDim.x * blockDim.x) {
    const Philox4 r = philox4x32_10(seed, (uint64_t)b, offset);
    float z[4];
    box_muller(r.v[0], r.v[1], &z[0], &z[1]);
    box_muller(r.v[2], r.v[3], &z[2], &z[3]);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int64_t i = 4 * b + k;
      if (i < n) out[i] = Mode == 0 ? mean + sd * z[k] : x[i] + sd * z[k];
    }
  }
}

__global__ void drop_kernel(const float* x, float* out, int64_t n, float p, uint64_t seed, uint64_t offset) {
  const int64_t nb = (n + 3) / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < nb; b += (int64_t)gridDim.x * blockDim.x) {
    const Philox4 r = philox4x32_10(seed, (uint64_t)b, offset);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int64_t i = 4 * b + k;
      if (i < n) {
        const float v = x[i];
        out[i] = u32_to_unit(r.v[k]) < p ? 0.0f : v;
      }
    }
  }
}

unsigned philox_blocks(int64_t n) { return blocks_for((n + 3) / 4); }

}  // namespace

void rand_uniform(float* out, int64_t n, uint64_t seed, uint64_t offset) {
  if (n <= 0) return;
  uniform_kernel<<<philox_blocks(n), kThreads, 0, stream()>>>(out, n, seed, offset);
  IMIX_CUDA_LAUNCHED("rand_uniform");
}

void rand_normal(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean, float std) {
  if (n <= 0) return;
  normal_kernel<0><<<philox_blocks(n), kThreads, 0, stream()>>>(nullptr, out, n, seed, offset, mean, std);
  IMIX_CUDA_LAUNCHED("rand_normal");
}

void input_drop(const float* x, float* out, int64_t n, float p, uint64_t seed, uint64_t offset) {
  if (n <= 0) return;
  drop_kernel<<<philox_blocks(n), kThreads, 0, stream()>>>(x, out, n, p, seed, offset);
  IMIX_CUDA_LAUNCHED("input_drop");
}

void gaussian_noise(const float* x, float* out, int64_t n, float std, uint64_t seed, uint64_t offset) {
  if (n <= 0) return;
  normal_kernel<1><<<philox_blocks(n), kThreads, 0, stream()>>>(x, out, n, seed, offset, 0.0f, std);
  IMIX_CUDA_LAUNCHED("gaussian_noise");
}

}  // namespace imix::cuda
