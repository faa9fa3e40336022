// Photometric image views on x[N, C, H, W], C = 1 or 3: colour jitter
// (random and with given parameters) and random grayscale. The draws and
// the per-pixel formulas (torchvision's) are in native/common/color.h,
// shared with the CUDA kernels; the contract is in kernel_api.h.
//
// Shape of the implementation: threads split the images (parallel_for); an
// image is processed in tiles of kTile pixels, loaded into three small
// arrays (r, g, b), run through the image's steps one step at a time (each
// step one `omp simd` loop with the step fixed at compile time, so the hue
// conversion's selects vectorize), and stored. Contrast needs the mean of
// the image after the steps before it, so an image whose steps include
// contrast at position k takes two passes: the first applies steps [0, k),
// writes that into out (nothing when k = 0) and sums gray() in double; the
// second reads that back (or x when k = 0) and applies steps [k, n). Every
// pixel is read, then written, by the same tile of the same thread, so out
// may be x (in place), and nothing is allocated. The mean is summed in a
// fixed order per image, so results do not depend on the thread count.
#include <algorithm>
#include <cstring>

#include "../common/color.h"
#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {
namespace {

constexpr int64_t kTile = 64;

template <int Id>
inline void step_tile3(const ColorOp& op, float mean, float* r, float* g, float* b, int64_t cnt) {
#pragma omp simd
  for (int64_t j = 0; j < cnt; ++j) color_step3(op, Id, mean, r[j], g[j], b[j]);
}

template <int Id>
inline void step_tile1(const ColorOp& op, float mean, float* v, int64_t cnt) {
#pragma omp simd
  for (int64_t j = 0; j < cnt; ++j) v[j] = color_step1(op, Id, mean, v[j]);
}

// Steps [k0, k1) of op over one image (planes of HW floats at src): writes
// dst when given; returns Σ gray(result) in double when Sum.
template <bool Sum>
double run_steps(const ColorOp& op, int k0, int k1, float mean, const float* src, float* dst, int64_t C,
                 int64_t HW) {
  double total = 0.0;
  alignas(64) float r[kTile], g[kTile], b[kTile];
  for (int64_t p0 = 0; p0 < HW; p0 += kTile) {
    const int64_t cnt = std::min(kTile, HW - p0);
    if (C == 3) {
      for (int64_t j = 0; j < cnt; ++j) {
        r[j] = src[p0 + j];
        g[j] = src[HW + p0 + j];
        b[j] = src[2 * HW + p0 + j];
      }
      for (int k = k0; k < k1; ++k) {
        switch (op.step[k]) {
          case kBrightness: step_tile3<kBrightness>(op, mean, r, g, b, cnt); break;
          case kContrast: step_tile3<kContrast>(op, mean, r, g, b, cnt); break;
          case kSaturation: step_tile3<kSaturation>(op, mean, r, g, b, cnt); break;
          default: step_tile3<kHue>(op, mean, r, g, b, cnt); break;
        }
      }
      if (Sum)
        for (int64_t j = 0; j < cnt; ++j) total += (double)color_gray(r[j], g[j], b[j]);
      if (dst)
        for (int64_t j = 0; j < cnt; ++j) {
          dst[p0 + j] = r[j];
          dst[HW + p0 + j] = g[j];
          dst[2 * HW + p0 + j] = b[j];
        }
    } else {
      for (int64_t j = 0; j < cnt; ++j) r[j] = src[p0 + j];
      for (int k = k0; k < k1; ++k) {
        if (op.step[k] == kBrightness) step_tile1<kBrightness>(op, mean, r, cnt);
        else step_tile1<kContrast>(op, mean, r, cnt);  // color.h drops saturation/hue for C = 1
      }
      if (Sum)
        for (int64_t j = 0; j < cnt; ++j) total += (double)r[j];
      if (dst)
        for (int64_t j = 0; j < cnt; ++j) dst[p0 + j] = r[j];
    }
  }
  return total;
}

// One image: x and out are its C planes (out may be x).
void apply_image(const ColorOp& op, const float* x, float* out, int64_t C, int64_t HW) {
  if (op.n == 0) {
    if (out != x) std::memcpy(out, x, sizeof(float) * (size_t)(C * HW));
    return;
  }
  const int kc = color_contrast_at(op);
  const float* src = x;
  int k0 = 0;
  float mean = 0.0f;
  if (kc >= 0) {
    const double s = run_steps<true>(op, 0, kc, 0.0f, x, kc > 0 ? out : nullptr, C, HW);
    mean = (float)(s / (double)HW);
    if (kc > 0) src = out;
    k0 = kc;
  }
  run_steps<false>(op, k0, op.n, mean, src, out, C, HW);
}

// Images per thread chunk: enough floats to be worth a fork.
int64_t image_grain(int64_t C, int64_t HW) { return std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, C * HW)); }

}  // namespace

void color_jitter(const float* x, float* out, int64_t N, int64_t C, int64_t HW, float brightness,
                  float contrast, float saturation, float hue, float p, uint64_t seed, uint64_t offset) {
  if (N <= 0 || HW <= 0) return;
  parallel_for(N, image_grain(C, HW), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const ColorOp op = color_jitter_draw(seed, offset, i, brightness, contrast, saturation, hue, p, C);
      apply_image(op, x + i * C * HW, out + i * C * HW, C, HW);
    }
  });
}

void color_adjust(const float* x, float* out, int64_t N, int64_t C, int64_t HW, const float* params) {
  if (N <= 0 || HW <= 0) return;
  parallel_for(N, image_grain(C, HW), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const ColorOp op = color_op_from_params(params + i * kColorParams, C);
      apply_image(op, x + i * C * HW, out + i * C * HW, C, HW);
    }
  });
}

void random_grayscale(const float* x, float* out, int64_t N, int64_t C, int64_t HW, float p, uint64_t seed,
                      uint64_t offset) {
  if (N <= 0 || HW <= 0) return;
  parallel_for(N, image_grain(C, HW), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* xi = x + i * C * HW;
      float* oi = out + i * C * HW;
      if (C != 3 || !color_gray_draw(seed, offset, i, p)) {
        if (oi != xi) std::memcpy(oi, xi, sizeof(float) * (size_t)(C * HW));
        continue;
      }
      alignas(64) float gr[kTile];
      for (int64_t p0 = 0; p0 < HW; p0 += kTile) {
        const int64_t cnt = std::min(kTile, HW - p0);
#pragma omp simd
        for (int64_t j = 0; j < cnt; ++j) gr[j] = color_gray(xi[p0 + j], xi[HW + p0 + j], xi[2 * HW + p0 + j]);
        for (int64_t j = 0; j < cnt; ++j) {
          oi[p0 + j] = gr[j];
          oi[HW + p0 + j] = gr[j];
          oi[2 * HW + p0 + j] = gr[j];
        }
      }
    }
  });
}

}  // namespace imix::cpu
