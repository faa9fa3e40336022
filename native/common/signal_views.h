// The per-signal draws and the per-sample arithmetic of the signal views
// (time shift, random time crop, amplitude scaling; native/cpu/signal_views.cpp
// and native/cuda/signal_views.cu), shared verbatim by both backends so the
// CPU and the GPU draw the same parameters and compute the same floats.
//
// Draw layout (the contract; lib/ops/signal.ts documents it and the TS tests
// reproduce it with lib/random.ts philoxBlock): signal i of a batch [N, C, L]
// reads Philox block i of the stream (seed, offset), i.e.
// philox4x32_10(key = seed, counter = {lo(i), hi(i), lo(offset), hi(offset)})
// → words (w0, w1, w2, w3); every channel of the signal shares the draw.
// With u(w) = (w >> 8)·2⁻²⁴ (the 24-bit uniform in [0, 1) of randUniform):
//   time shift        s_i = ((w0 >> 8)·(2·maxShift+1)) >> 24 − maxShift   ∈ [−maxShift, maxShift]
//   random time crop  σ_i = lo + (hi − lo)·u(w0)           (double; lo, hi = minScale, maxScale)
//                     ℓ_i = clamp(⌊σ_i·L + ½⌋, 1, L)         (round half up)
//                     a_i = ((w1 >> 8)·(L − ℓ_i + 1)) >> 24                ∈ [0, L − ℓ_i]
//   amplitude scale   g_i = float(lo + (hi − lo)·u(w0))      (double, then rounded to float32)
// The integer draws are ⌊u·span⌋ computed exactly (span < 2⁴⁰ keeps the
// product below 2⁶⁴). The double expressions are evaluated operation by
// operation, each product rounded on its own (mul_rn): a compiler may
// otherwise contract lo + d·u into a fused multiply-add on one backend and
// not on the other (nvcc does by default, GCC with -march=native may), and
// the draws would differ in the last bit — enough to move ℓ_i across a
// rounding boundary. JavaScript evaluates the same expressions the same way.
#pragma once
#include <cmath>
#include <cstdint>

#include "hd.h"
#include "philox.h"

namespace imix {

// a·b rounded to double, never fused into a following addition.
IMIX_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  volatile double p = a * b;  // a store forces the rounding; GCC does not contract across it
  return p;
#endif
}

// ⌊u(w)·span⌋ for span < 2⁴⁰, exactly.
IMIX_HD int64_t philox_below(uint32_t w, uint64_t span) { return (int64_t)(((uint64_t)(w >> 8) * span) >> 24); }

// lo + (hi − lo)·u(w) in double, as documented above.
IMIX_HD double philox_between(uint32_t w, double lo, double hi) {
  return lo + mul_rn(hi - lo, (double)(w >> 8) * (1.0 / 16777216.0));
}

IMIX_HD int64_t time_shift_draw(uint64_t seed, uint64_t offset, int64_t i, int64_t max_shift) {
  const Philox4 r = philox4x32_10(seed, (uint64_t)i, offset);
  return philox_below(r.v[0], 2 * (uint64_t)max_shift + 1) - max_shift;
}

struct TimeCrop {
  int64_t len;    // ℓ_i, in [1, L]
  int64_t start;  // a_i, in [0, L − ℓ_i]
};
IMIX_HD TimeCrop time_crop_draw(uint64_t seed, uint64_t offset, int64_t i, int64_t L, double min_scale,
                                double max_scale) {
  const Philox4 r = philox4x32_10(seed, (uint64_t)i, offset);
  const double sigma = philox_between(r.v[0], min_scale, max_scale);
  int64_t len = (int64_t)floor(mul_rn(sigma, (double)L) + 0.5);
  len = len < 1 ? 1 : (len > L ? L : len);
  TimeCrop c;
  c.len = len;
  c.start = philox_below(r.v[1], (uint64_t)(L - len + 1));
  return c;
}

IMIX_HD float amplitude_draw(uint64_t seed, uint64_t offset, int64_t i, double lo, double hi) {
  const Philox4 r = philox4x32_10(seed, (uint64_t)i, offset);
  return (float)philox_between(r.v[0], lo, hi);
}

// Output sample t of the linear resampling of a window w[0..len) to L
// samples (len ≠ L; len == L is a plain copy, as in PyTorch), as
// torch.nn.functional.interpolate(mode='linear', align_corners=False):
//   scale = float(len)/float(L)                                  (float32)
//   src = max(0, scale·(t + ½) − ½)                              (double)
//   i0 = min(⌊src⌋, len − 1), i1 = i0 + [i0 < len − 1]
//   λ1 = float(src − i0), λ0 = 1 − λ1                            (float32)
//   out = float(λ0·w[i0] + λ1·w[i1])                             (double sum)
// PyTorch 1.13's CPU kernel evidently forms the source index in double from
// its float scale too (its weights match these, not a float src, which would
// be off by up to 2⁻²⁴·L samples: test/fixtures/gen_time_crop.py); its final
// blend is in float32 (≤ 2 ulp apart from this one). Both double expressions
// are immune to fused multiply-adds, so every compiler and device computes
// the same: the products are exact in double (24-bit × 24-bit factors, and
// scale·(t + ½) for t < 2²⁸), and a fused and an unfused a·b + c round the
// same exact value once.
IMIX_HD float time_resample_at(const float* w, int64_t len, float scale, int64_t t) {
  double src = (double)scale * ((double)t + 0.5) - 0.5;
  src = src < 0.0 ? 0.0 : src;
  int64_t i0 = (int64_t)src;
  i0 = i0 < len - 1 ? i0 : len - 1;
  const int64_t i1 = i0 + (i0 < len - 1 ? 1 : 0);
  float l1 = (float)(src - (double)i0);
  l1 = l1 > 1.0f ? 1.0f : l1;
  const float l0 = 1.0f - l1;
  return (float)((double)l0 * (double)w[i0] + (double)l1 * (double)w[i1]);
}

}  // namespace imix
