// Photometric image views on the GPU: colour jitter (random and with given
// parameters) and random grayscale on x[N, C, HW], C = 1 or 3. The draws and
// the per-pixel formulas come from native/common/color.h, the header the CPU
// kernels (native/cpu/color.cpp) use, so both backends draw the same
// parameters from the same Philox words and evaluate the same float
// expressions (results may still differ by an ulp or so where a compiler
// contracts a·x + b into an FMA differently, or in the double mean's
// summation order).
//
// One block per image (a grid-stride loop over images, cap kMaxRowGrid);
// every thread of the block computes the image's draw itself (two Philox
// blocks: no shared state, no barrier) and walks the pixels q = threadIdx.x,
// + blockDim.x, … of the image. Contrast needs the image mean after the steps
// before it: the first sweep applies those steps (writing them to out when
// there are any), sums gray() in double, and block_sum (fixed tree, so
// deterministic) gives every thread the total; the second sweep reads back
// the same pixels it wrote and applies the rest. The block's draw is the same
// in every thread, so every thread reaches block_sum's barriers. Each pixel
// is read before it is written by the same thread, so out may be x.
#include "../common/color.h"
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

struct JitterArgs {
  float brightness, contrast, saturation, hue, p;
  uint64_t seed, offset;
};

// Steps [k0, k1) on pixel q of an image's planes (src → dst); returns its gray().
__device__ __forceinline__ float pixel_steps(const ColorOp& op, int k0, int k1, float mean, const float* src,
                                             float* dst, int64_t C, int64_t HW, int64_t q) {
  if (C == 3) {
    float r = src[q], g = src[HW + q], b = src[2 * HW + q];
    for (int k = k0; k < k1; ++k) color_step3(op, op.step[k], mean, r, g, b);
    if (dst) {
      dst[q] = r;
      dst[HW + q] = g;
      dst[2 * HW + q] = b;
    }
    return color_gray(r, g, b);
  }
  float v = src[q];
  for (int k = k0; k < k1; ++k) v = color_step1(op, op.step[k], mean, v);
  if (dst) dst[q] = v;
  return v;
}

// FromParams = false: the random draw of JitterArgs; true: rows of params.
template <bool FromParams>
__global__ void color_kernel(const float* x, float* out, int64_t N, int64_t C, int64_t HW, JitterArgs a,
                             const float* __restrict params) {
  __shared__ double sh[32];
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    const ColorOp op = FromParams ? color_op_from_params(params + i * kColorParams, C)
                                  : color_jitter_draw(a.seed, a.offset, i, a.brightness, a.contrast, a.saturation,
                                                      a.hue, a.p, C);
    const float* xi = x + i * C * HW;
    float* oi = out + i * C * HW;
    if (op.n == 0) {
      if (oi != xi)
        for (int64_t q = threadIdx.x; q < C * HW; q += blockDim.x) oi[q] = xi[q];
      continue;
    }
    const int kc = color_contrast_at(op);
    const float* src = xi;
    int k0 = 0;
    float mean = 0.0f;
    if (kc >= 0) {
      double s = 0.0;
      for (int64_t q = threadIdx.x; q < HW; q += blockDim.x)
        s += (double)pixel_steps(op, 0, kc, 0.0f, xi, kc > 0 ? oi : nullptr, C, HW, q);
      s = block_sum(s, sh);
      mean = (float)(s / (double)HW);
      if (kc > 0) src = oi;
      k0 = kc;
    }
    for (int64_t q = threadIdx.x; q < HW; q += blockDim.x) pixel_steps(op, k0, op.n, mean, src, oi, C, HW, q);
  }
}

__global__ void grayscale_kernel(const float* x, float* out, int64_t N, int64_t C, int64_t HW, float p,
                                 uint64_t seed, uint64_t offset) {
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    const float* xi = x + i * C * HW;
    float* oi = out + i * C * HW;
    if (C != 3 || !color_gray_draw(seed, offset, i, p)) {
      if (oi != xi)
        for (int64_t q = threadIdx.x; q < C * HW; q += blockDim.x) oi[q] = xi[q];
      continue;
    }
    for (int64_t q = threadIdx.x; q < HW; q += blockDim.x) {
      const float gr = color_gray(xi[q], xi[HW + q], xi[2 * HW + q]);
      oi[q] = gr;
      oi[HW + q] = gr;
      oi[2 * HW + q] = gr;
    }
  }
}

unsigned image_blocks(int64_t N) { return blocks_for(N, 1, kMaxRowGrid); }

}  // namespace

void color_jitter(const float* x, float* out, int64_t N, int64_t C, int64_t HW, float brightness, float contrast,
                  float saturation, float hue, float p, uint64_t seed, uint64_t offset) {
  if (N <= 0 || HW <= 0) return;
  const JitterArgs a{brightness, contrast, saturation, hue, p, seed, offset};
  color_kernel<false><<<image_blocks(N), kThreads, 0, stream()>>>(x, out, N, C, HW, a, nullptr);
  IMIX_CUDA_LAUNCHED("color_jitter");
}

void color_adjust(const float* x, float* out, int64_t N, int64_t C, int64_t HW, const float* params) {
  if (N <= 0 || HW <= 0) return;
  const JitterArgs a{0, 0, 0, 0, 0, 0, 0};
  color_kernel<true><<<image_blocks(N), kThreads, 0, stream()>>>(x, out, N, C, HW, a, params);
  IMIX_CUDA_LAUNCHED("color_adjust");
}

void random_grayscale(const float* x, float* out, int64_t N, int64_t C, int64_t HW, float p, uint64_t seed,
                      uint64_t offset) {
  if (N <= 0 || HW <= 0) return;
  grayscale_kernel<<<image_blocks(N), kThreads, 0, stream()>>>(x, out, N, C, HW, p, seed, offset);
  IMIX_CUDA_LAUNCHED("random_grayscale");
}

}  // namespace imix::cuda
