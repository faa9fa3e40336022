// Photometric image views (colour jitter, random grayscale): the per-image
// draws and the per-pixel formulas, shared verbatim by the CPU
// (native/cpu/color.cpp) and CUDA (native/cuda/color.cu) kernels, as
// philox.h is, so both backends draw the same parameters and evaluate the
// same float expressions.
//
// The formulas are torchvision 0.14's for float images
// (transforms/functional_tensor.py), each step rounded to float32 as torch
// rounds it:
//   gray(r, g, b)   = 0.2989·r + 0.587·g + 0.114·b                (rgb_to_grayscale)
//   blend(a, b, f)  = clamp(f·a + (1 − f)·b, 0, 1)                 (_blend; NaN stays NaN)
//   brightness b    : x ← clamp(b·x, 0, 1)                         (blend with zeros)
//   contrast c      : x ← blend(x, m, c), m = mean over the image of gray(x)
//                     (of x itself for one channel)
//   saturation s    : x ← blend(x, gray(x), s) per pixel           (identity for one channel)
//   hue h           : (H, S, V) = _rgb2hsv(x); H ← (H + h) mod 1; x ← _hsv2rgb(H, S, V)
//                     (identity for one channel)
// 1 − f is formed in double and rounded once, as Python forms it before torch
// rounds it to float32. Inputs are meant to be in [0, 1]; other finite values
// follow the same formulas (and the clamps), NaN propagates.
//
// Draw layout of colour jitter (torchvision's RandomApply([ColorJitter(b, c,
// s, h)], p)), image i of a call (seed, offset): Philox blocks 2i and 2i+1
// of that stream (philox.h), words A = (a0, a1, a2, a3) and B = (b0, b1, _, _):
//   applied   u(a0) < p                       u(w) = (w >> 8)·2⁻²⁴ ∈ [0, 1)
//   order     r = ⌊a1·24 / 2³²⌋ ∈ [0, 24) → a permutation of the four
//             adjustments (0 brightness, 1 contrast, 2 saturation, 3 hue) by
//             its Lehmer code: from the list (0, 1, 2, 3), step k takes the
//             entry at index r mod (4 − k) and removes it, r ← ⌊r / (4 − k)⌋
//   factors   brightness lo + u(a2)·span, contrast … u(a3), saturation … u(b0)
//             with lo = max(0, 1 − k), span = (1 + k) − lo in float32 for
//             strength k; hue −h + u(b1)·(2h). Each factor is
//             float32(double(lo) + double(u)·double(span)): the product is
//             exact in double, so the value is the same with or without FMA
//             contraction, on every device and in lib/random.ts.
// A strength of 0 skips its adjustment (torchvision sets it to None), and
// saturation and hue are skipped for one-channel images; the words are drawn
// regardless, so the layout depends on neither. Every value is a pure
// function of (seed, offset, i, the strengths, p).
//
// Random grayscale (torchvision's RandomGrayscale(p)): image i takes word 0
// of Philox block i: grayscale iff u(w0) < p; out = gray(x) on all three
// channels. Identity for one-channel images.
#pragma once
#include <cstdint>

#include "hd.h"
#include "philox.h"

namespace imix {

// Adjustment ids, in torchvision's fn_idx numbering.
enum ColorStep : int { kBrightness = 0, kContrast = 1, kSaturation = 2, kHue = 3 };

// What one image undergoes: the steps in order (n of them, 0: unchanged)
// and the factor of each adjustment by id, with its complement 1 − f
// (rounded from double, as torch's Python float is).
struct ColorOp {
  int n;
  int step[4];
  float f[4];
  float omf[4];
};

// Rows of the params tensor of color_adjust: (f_b, f_c, f_s, f_h, step0..3).
constexpr int kColorParams = 8;

IMIX_HD float color_clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

IMIX_HD float color_gray(float r, float g, float b) { return 0.2989f * r + 0.587f * g + 0.114f * b; }

IMIX_HD void color_op_finish(ColorOp& op) {
  for (int k = 0; k < 4; ++k) op.omf[k] = (float)(1.0 - (double)op.f[k]);
}

// factor = float32(double(lo) + double(u)·double(span)), see above.
IMIX_HD float color_factor(uint32_t w, float lo, float span) {
  return (float)((double)lo + (double)u32_to_unit(w) * (double)span);
}

// The draw of image i (layout above). Strengths are torchvision's
// brightness/contrast/saturation (≥ 0) and hue (in [0, 0.5]); channels is 1
// or 3.
IMIX_HD ColorOp color_jitter_draw(uint64_t seed, uint64_t offset, int64_t i, float brightness, float contrast,
                                  float saturation, float hue, float p, int64_t channels) {
  const Philox4 A = philox4x32_10(seed, 2 * (uint64_t)i, offset);
  const Philox4 B = philox4x32_10(seed, 2 * (uint64_t)i + 1, offset);
  ColorOp op;
  const float k[3] = {brightness, contrast, saturation};
  const uint32_t w[3] = {A.v[2], A.v[3], B.v[0]};
  for (int j = 0; j < 3; ++j) {
    const float d = 1.0f - k[j];
    const float lo = d > 0.0f ? d : 0.0f;
    op.f[j] = color_factor(w[j], lo, (1.0f + k[j]) - lo);
  }
  op.f[kHue] = color_factor(B.v[1], -hue, hue + hue);
  color_op_finish(op);
  op.n = 0;
  if (!(u32_to_unit(A.v[0]) < p)) return op;
  uint32_t r = (uint32_t)(((uint64_t)A.v[1] * 24u) >> 32);
  int avail[4] = {0, 1, 2, 3};
  const bool on[4] = {brightness > 0.0f, contrast > 0.0f, saturation > 0.0f && channels == 3,
                      hue > 0.0f && channels == 3};
  for (int s = 0; s < 4; ++s) {
    const uint32_t m = 4u - (uint32_t)s;
    const int j = (int)(r % m);
    r /= m;
    const int id = avail[j];
    for (int t = j; t + 1 < (int)m; ++t) avail[t] = avail[t + 1];
    if (on[id]) op.step[op.n++] = id;
  }
  return op;
}

// The op of a params row (color_adjust), already validated by the addon:
// factors finite (b, c, s ≥ 0; h in [−0.5, 0.5]), steps −1 or distinct ids.
IMIX_HD ColorOp color_op_from_params(const float* row, int64_t channels) {
  ColorOp op;
  for (int k = 0; k < 4; ++k) op.f[k] = row[k];
  color_op_finish(op);
  op.n = 0;
  for (int k = 0; k < 4; ++k) {
    const float s = row[4 + k];
    const int id = s == 0.0f ? 0 : s == 1.0f ? 1 : s == 2.0f ? 2 : s == 3.0f ? 3 : -1;
    if (id < 0 || (channels != 3 && id >= kSaturation)) continue;
    op.step[op.n++] = id;
  }
  return op;
}

// Index of the contrast step in op (it needs the image mean first), or −1.
IMIX_HD int color_contrast_at(const ColorOp& op) {
  for (int k = 0; k < op.n; ++k)
    if (op.step[k] == kContrast) return k;
  return -1;
}

// Hue shift of one RGB pixel: torchvision's _rgb2hsv, H ← (H + h) mod 1
// (torch.remainder: fmod, plus 1 when negative), _hsv2rgb. Branch-free
// selects, so the CPU loop vectorizes.
IMIX_HD void color_hue(float& r, float& g, float& b, float h) {
  const float maxc = fmaxf(fmaxf(r, g), b), minc = fminf(fminf(r, g), b);
  const bool eqc = maxc == minc;
  const float cr = maxc - minc;
  const float s = cr / (eqc ? 1.0f : maxc);
  const float crd = eqc ? 1.0f : cr;
  const float rc = (maxc - r) / crd, gc = (maxc - g) / crd, bc = (maxc - b) / crd;
  const float hr = bc - gc, hg = (2.0f + rc) - bc, hb = (4.0f + gc) - rc;
  // fmod(a, 1) is a − trunc(a), exactly (the difference is representable),
  // written so because truncf vectorizes and fmodf does not.
  float hh = maxc == r ? hr : (maxc == g ? hg : hb);
  hh = hh / 6.0f + 1.0f;
  hh = hh - truncf(hh);
  hh = hh + h;
  float m = hh - truncf(hh);
  m = m < 0.0f ? m + 1.0f : m;
  // _hsv2rgb with v = maxc, s, and hue m.
  const float h6 = m * 6.0f;
  float fi = floorf(h6);
  const float f = h6 - fi;
  fi = fi >= 0.0f ? (fi <= 6.0f ? fi : 6.0f) : 0.0f;  // NaN → sector 0 (no UB in the int cast)
  int i = (int)fi;
  i = i == 6 ? 0 : i;
  const float v = maxc;
  const float p = color_clamp01(v * (1.0f - s));
  const float q = color_clamp01(v * (1.0f - s * f));
  const float t = color_clamp01(v * (1.0f - s * (1.0f - f)));
  // Sectors 0..5: (v,t,p) (q,v,p) (p,v,t) (p,q,v) (t,p,v) (v,p,q).
  r = i == 0 || i == 5 ? v : i == 1 ? q : i == 4 ? t : p;
  g = i == 1 || i == 2 ? v : i == 0 ? t : i == 3 ? q : p;
  b = i == 3 || i == 4 ? v : i == 2 ? t : i == 5 ? q : p;
}

// One adjustment on an RGB pixel (mean: the contrast step's image mean).
IMIX_HD void color_step3(const ColorOp& op, int id, float mean, float& r, float& g, float& b) {
  if (id == kBrightness) {
    const float f = op.f[kBrightness];
    r = color_clamp01(f * r);
    g = color_clamp01(f * g);
    b = color_clamp01(f * b);
  } else if (id == kContrast) {
    const float f = op.f[kContrast], add = op.omf[kContrast] * mean;
    r = color_clamp01(f * r + add);
    g = color_clamp01(f * g + add);
    b = color_clamp01(f * b + add);
  } else if (id == kSaturation) {
    const float f = op.f[kSaturation], add = op.omf[kSaturation] * color_gray(r, g, b);
    r = color_clamp01(f * r + add);
    g = color_clamp01(f * g + add);
    b = color_clamp01(f * b + add);
  } else {
    color_hue(r, g, b, op.f[kHue]);
  }
}

// One adjustment on a one-channel pixel (brightness or contrast).
IMIX_HD float color_step1(const ColorOp& op, int id, float mean, float v) {
  if (id == kBrightness) return color_clamp01(op.f[kBrightness] * v);
  return color_clamp01(op.f[kContrast] * v + op.omf[kContrast] * mean);
}

// Random grayscale: whether image i turns gray.
IMIX_HD bool color_gray_draw(uint64_t seed, uint64_t offset, int64_t i, float p) {
  return u32_to_unit(philox4x32_10(seed, (uint64_t)i, offset).v[0]) < p;
}

}  // namespace imix
