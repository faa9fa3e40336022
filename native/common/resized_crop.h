// Random resized crop (torchvision 0.14's RandomResizedCrop on float tensors,
// fused with a horizontal flip): the per-image box draw and the bilinear taps,
// shared verbatim by the CPU (native/cpu/augment.cpp) and CUDA
// (native/cuda/augment.cu) kernels, so both devices draw the same boxes and
// compute the same floats.
//
// Draw layout (the contract; lib/ops/augment.ts documents it and
// test/kernels/augment.test.ts reproduces it with lib/random.ts philoxBlock).
// Image i of a call (seed, offset) reads the Philox blocks 16·i + a of that
// stream, i.e. philox4x32_10(key = seed, counter = {lo(b), hi(b), lo(offset),
// hi(offset)}), b = 16·i + a, words (w0, w1, w2, w3); u(w) = (w >> 8)·2⁻²⁴:
//   attempt a = 0..9 (block 16·i + a), torchvision's get_params:
//     σ = s_lo + (s_hi − s_lo)·u(w0)                      area fraction
//     ρ = log r_lo + (log r_hi − log r_lo)·u(w1)          log aspect ratio
//     A = H·W·σ,  w = rint(√(A·e^ρ)),  h = rint(√(A/e^ρ))  (rint: half to even, Python's round)
//     accepted iff 0 < w ≤ W and 0 < h ≤ H; then
//     top  = ⌊u(w2)·(H − h + 1)⌋,  left = ⌊u(w3)·(W − w + 1)⌋   (exact integers)
//   no attempt accepted: torchvision's centre crop, in_ratio = W/H:
//     in_ratio < r_lo: w = W, h = rint(W/r_lo); in_ratio > r_hi: h = H, w = rint(H·r_hi);
//     else the whole image; top = ⌊(H − h)/2⌋, left = ⌊(W − w)/2⌋. (w and h are
//     clamped to ≥ 1, where torchvision would fail on an empty crop: only for
//     ratios far outside the image's own, e.g. r_lo > 2·W.)
//   flip (block 16·i + 10, word 0): u(w0) < flip_p (float compare, as randomCropFlip).
//   Blocks 16·i + 11 … 16·i + 15 are unused (reserved for later draws).
// Every channel of an image shares its box; the draw is a pure function of
// (seed, offset, i), independent of threads and device.
//
// Why the arithmetic looks the way it does: the draw must give the same box
// on both devices, and a box decided by a last-bit difference (w = rint(…)
// near k + ½) would move a whole crop. So every double expression is made of
// IEEE basic operations only (+, −, ×, ÷, √, each correctly rounded on
// both), each product rounded on its own (mul_rn: nvcc, and GCC with
// -march=native, would otherwise contract a·b + c into a fused multiply-add on
// one device and not the other), and log/exp are computed here (rrc::det_log,
// rrc::det_exp below: a few ulp, from basic operations only) instead of by libm
// or CUDA's math library, which round differently in the last bit.
// JavaScript evaluates the same operations the same way (the TS reference).
//
// Resampling (torch.nn.functional.interpolate(mode='bilinear',
// align_corners=False), no antialias — what torchvision 0.14 does to a tensor
// crop — the crop h×w back to H×W, PyTorch's CPU kernel arithmetic):
//   scale = float(h)/float(H),  src = max(0, scale·(y + ½) − ½)   (double, as
//   PyTorch's acc_type), y0 = ⌊src⌋, y1 = y0 + [y0 < h − 1],
//   λ1 = float(src − y0), λ0 = 1 − λ1;  h == H: y0 = y1 = y, λ = (1, 0)
//   (PyTorch's copy case); columns likewise (on the flipped output column
//   W−1−x when flipped); then
//   out = λ0ʸ·(λ0ˣ·p00 + λ1ˣ·p01) + λ1ʸ·(λ0ˣ·p10 + λ1ˣ·p11),
// each "a·b + c·d" evaluated as fmaf(a, b, c·d): one rounding per sum on every
// compiler and device, so CPU and CUDA agree bit for bit. That is also what
// PyTorch 1.13's CPU kernel computes when built with FMA (x86-64 AVX2): the
// fixtures of test/fixtures/gen_resized_crop.py match bit for bit, except a
// 1×1 crop, where PyTorch takes another kernel (≤ 1 ulp). Since h ≤ H the
// crop is only ever upsampled: src < h − ½, every tap lies inside the crop.
#pragma once
#include <cmath>
#include <cstdint>

#include "hd.h"
#include "kernel_types.h"
#include "philox.h"

namespace imix {
namespace rrc {

// a·b rounded to double, never fused into a following addition.
IMIX_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  volatile double p = a * b;  // the store forces the rounding: GCC does not contract across it
  return p;
#endif
}

// a·b rounded to float (the addend of an explicit fmaf: nothing to contract,
// the intrinsic only makes that certain on the device).
IMIX_HD float mulf_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

// 2^k for −1022 ≤ k ≤ 1023, exactly (a normal double).
IMIX_HD double pow2(int k) { return ldexp(1.0, k); }

constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2, upper 32 bits (k·kLn2Hi exact for |k| < 2^20)
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // ln 2 − kLn2Hi
constexpr double kLog2e = 1.44269504088896338700e+00;
constexpr double kSqrt2 = 1.41421356237309514547e+00;

// e^t for finite t, from basic operations only (within a few ulp of e^t;
// deterministic across devices). t = k·ln2 + r, k = rint(t·log2 e), |r| ≲ ln2/2;
// e^r by its Taylor series to r¹³ (Horner; the next term is < 2⁻⁵⁴·e^r); × 2^k.
// Outside [−708, 709] it returns 0 or +∞ (e^t is subnormal or near overflow
// there: for the aspect ratio both mean "no crop fits", as e^t itself would).
IMIX_HD double det_exp(double t) {
  if (!(t == t)) return t;
  if (t > 709.0) return HUGE_VAL;
  if (t < -708.0) return 0.0;
  const double k = rint(mul_rn(t, kLog2e));
  const double r = (t - mul_rn(k, kLn2Hi)) - mul_rn(k, kLn2Lo);
  // Horner on 1/n!, n = 13 … 0 (constants folded the same way by every
  // compiler: correctly rounded).
  double p = 1.0 / 6227020800.0;
  p = mul_rn(p, r) + 1.0 / 479001600.0;
  p = mul_rn(p, r) + 1.0 / 39916800.0;
  p = mul_rn(p, r) + 1.0 / 3628800.0;
  p = mul_rn(p, r) + 1.0 / 362880.0;
  p = mul_rn(p, r) + 1.0 / 40320.0;
  p = mul_rn(p, r) + 1.0 / 5040.0;
  p = mul_rn(p, r) + 1.0 / 720.0;
  p = mul_rn(p, r) + 1.0 / 120.0;
  p = mul_rn(p, r) + 1.0 / 24.0;
  p = mul_rn(p, r) + 1.0 / 6.0;
  p = mul_rn(p, r) + 0.5;
  p = mul_rn(p, r) + 1.0;
  p = mul_rn(p, r) + 1.0;
  return mul_rn(p, pow2((int)k));
}

// ln x for finite x > 0, from basic operations only (within a few ulp).
// x = m·2^e with m ∈ [√½, √2): ln x = e·ln2 + 2·atanh(s), s = (m−1)/(m+1),
// |s| ≤ 0.1716; atanh by its odd series to s²⁵ (the next term is < 2⁻⁵⁷·|s|).
IMIX_HD double det_log(double x) {
  int e = 0;
  double m = frexp(x, &e);  // x = m·2^e, m ∈ [½, 1): exact
  m = m + m;                // [1, 2), exact
  e -= 1;
  if (m > kSqrt2) {
    m = m * 0.5;  // exact
    e += 1;
  }
  const double s = (m - 1.0) / (m + 1.0);  // m − 1 exact
  const double z = mul_rn(s, s);
  // Horner on 1/(2n+1), n = 12 … 1.
  double p = 1.0 / 25.0;
  p = mul_rn(p, z) + 1.0 / 23.0;
  p = mul_rn(p, z) + 1.0 / 21.0;
  p = mul_rn(p, z) + 1.0 / 19.0;
  p = mul_rn(p, z) + 1.0 / 17.0;
  p = mul_rn(p, z) + 1.0 / 15.0;
  p = mul_rn(p, z) + 1.0 / 13.0;
  p = mul_rn(p, z) + 1.0 / 11.0;
  p = mul_rn(p, z) + 1.0 / 9.0;
  p = mul_rn(p, z) + 1.0 / 7.0;
  p = mul_rn(p, z) + 1.0 / 5.0;
  p = mul_rn(p, z) + 1.0 / 3.0;
  const double s2 = s + s;                          // exact
  const double lm = s2 + mul_rn(mul_rn(s2, z), p);  // 2s + 2s·z·p = 2·atanh(s) = ln m
  const double de = (double)e;
  return mul_rn(de, kLn2Hi) + (mul_rn(de, kLn2Lo) + lm);
}

// ⌊u(w)·span⌋ for 1 ≤ span < 2⁴⁰, exactly (the product stays below 2⁶⁴).
IMIX_HD int64_t below(uint32_t w, uint64_t span) { return (int64_t)(((uint64_t)(w >> 8) * span) >> 24); }

// lo + (hi − lo)·u(w), the product rounded on its own.
IMIX_HD double between(uint32_t w, double lo, double hi) {
  return lo + mul_rn(hi - lo, (double)(w >> 8) * (1.0 / 16777216.0));
}

// A fallback crop side (rint(W/r_lo) or rint(H·r_hi)) clamped to [1, side].
// Why: for an aspect ratio far outside the image's own (r_lo ≥ 2·W, or
// r_hi ≤ 1/(2·H)) the side rounds to 0, an empty crop that torchvision would
// fail on and the bilinear taps cannot read; the upper bound only guards
// (the branch that sets a side has W/r_lo < H, or H·r_hi < W).
IMIX_HD double clamp_side(double v, int64_t side) { return v < 1.0 ? 1.0 : (v > (double)side ? (double)side : v); }

// Image i's box and flip (the layout above). H, W ≥ 1 and below 2^31; the
// scale and ratio ranges are validated by the addon (0 < s_lo ≤ s_hi ≤ 1,
// 0 < r_lo ≤ r_hi finite, flip_p ∈ [0, 1]).
IMIX_HD CropBox draw_box(int64_t i, int64_t H, int64_t W, double scale_lo, double scale_hi, double ratio_lo,
                         double ratio_hi, float flip_p, uint64_t seed, uint64_t offset) {
  CropBox b;
  const double area = (double)H * (double)W;  // exact: H, W < 2^31
  const double lr_lo = det_log(ratio_lo), lr_hi = det_log(ratio_hi);
  const uint64_t base = 16 * (uint64_t)i;
  bool found = false;
  for (int a = 0; a < 10 && !found; ++a) {
    const Philox4 r = philox4x32_10(seed, base + (uint64_t)a, offset);
    const double target = mul_rn(area, between(r.v[0], scale_lo, scale_hi));
    const double aspect = det_exp(between(r.v[1], lr_lo, lr_hi));
    const double w = rint(sqrt(mul_rn(target, aspect)));
    const double h = rint(sqrt(target / aspect));
    if (w > 0.0 && w <= (double)W && h > 0.0 && h <= (double)H) {
      b.h = (int64_t)h;
      b.w = (int64_t)w;
      b.top = below(r.v[2], (uint64_t)(H - b.h + 1));
      b.left = below(r.v[3], (uint64_t)(W - b.w + 1));
      found = true;
    }
  }
  if (!found) {
    const double in_ratio = (double)W / (double)H;
    double w = (double)W, h = (double)H;
    if (in_ratio < ratio_lo) {
      h = rint((double)W / ratio_lo);
    } else if (in_ratio > ratio_hi) {
      w = rint(mul_rn((double)H, ratio_hi));
    }
    b.h = (int64_t)clamp_side(h, H);
    b.w = (int64_t)clamp_side(w, W);
    b.top = (H - b.h) / 2;
    b.left = (W - b.w) / 2;
  }
  b.flip = u32_to_unit(philox4x32_10(seed, base + 10, offset).v[0]) < flip_p ? 1 : 0;
  return b;
}

// One output row's (or column's) two source taps inside the crop and their
// weights: output index o of `out` samples, crop length `in` (1 ≤ in ≤ out).
struct Tap {
  int64_t i0, i1;
  float l0, l1;
};
IMIX_HD Tap tap(int64_t o, int64_t in, int64_t out) {
  Tap t;
  if (in == out) {  // PyTorch's copy case (scale 1)
    t.i0 = t.i1 = o;
    t.l0 = 1.0f;
    t.l1 = 0.0f;
    return t;
  }
  const float scale = (float)in / (float)out;
  double src = mul_rn((double)scale, (double)o + 0.5) - 0.5;
  src = src < 0.0 ? 0.0 : src;
  t.i0 = (int64_t)src;  // src < in − ½: i0 ≤ in − 1
  t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
  t.l1 = (float)(src - (double)t.i0);
  t.l0 = 1.0f - t.l1;
  return t;
}

// λ0·a + λ1·b as fmaf(a, λ0, b·λ1) (the order an FMA build of PyTorch's
// CPU kernel evaluates t0·w0 + t1·w1 in).
IMIX_HD float lerp(float a, float b, float l0, float l1) { return fmaf(a, l0, mulf_rn(b, l1)); }

}  // namespace rrc
}  // namespace imix
