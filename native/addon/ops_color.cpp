// Bindings: colorJitter(x, out, brightness, contrast, saturation, hue, p,
// seed, offset), colorAdjust(x, out, params), randomGrayscale(x, out, p,
// seed, offset) — photometric views of [N, C, H, W] images, C = 1 or 3
// (formulas and draw layout: native/common/color.h). out may be x itself (in
// place: each pixel is read before it is written) but must not partially
// overlap it. seed/offset: non-negative integers below 2^53 (Args::philox).
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "../common/color.h"
#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

// A jitter strength: finite, ≥ 0, and a float32 (1 + k stays finite).
float strength(const Args& a, size_t i, const char* name) {
  const double v = a.number(i, name);
  IMIX_CHECK(v >= 0.0, Value, std::string(name) + ": expected a non-negative strength, got " + num(v));
  IMIX_CHECK(v <= (double)std::numeric_limits<float>::max(), Value,
             std::string(name) + ": " + num(v) + " does not fit a float32");
  return (float)v;
}

// x and out: float32 contiguous [N, C, H, W] with C = 1 or 3, out of x's
// shape on x's device, out = x or disjoint from it. Returns the device.
Dispatch images(Tensor* x, Tensor* out, const char* what, const float** xp, float** op) {
  const Dispatch dev = batch_pair(x, out, 4, (std::string(what) + " needs [N, C, H, W] images").c_str(), true, xp, op);
  IMIX_CHECK(x->shape[1] == 1 || x->shape[1] == 3, Shape,
             std::string("x: ") + what + " needs 1 (grayscale) or 3 (RGB) channels, got shape " + x->shape_str());
  return dev;
}

Napi::Value ColorJitter(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  const float brightness = strength(a, 2, "brightness");
  const float contrast = strength(a, 3, "contrast");
  const float saturation = strength(a, 4, "saturation");
  const float hue = (float)a.number_in(5, "hue", 0.0, 0.5);
  const float p = (float)a.number_in(6, "p", 0.0, 1.0);
  const PhiloxStream rng = a.philox(7);
  const float* xp;
  float* op;
  const Dispatch dev = images(x, out, "color jitter", &xp, &op);
  IMIX_KERNEL(dev, color_jitter, xp, op, x->shape[0], x->shape[1], x->shape[2] * x->shape[3], brightness, contrast,
              saturation, hue, p, rng.seed, rng.offset);
  return info.Env().Undefined();
}

// Every row of params[N, 8] (host pointer): factors as torchvision accepts
// them, steps −1 or distinct adjustment ids.
void check_params(const float* pr, int64_t N) {
  static const char* const kNames[4] = {"brightness", "contrast", "saturation", "hue"};
  for (int64_t i = 0; i < N; ++i) {
    const float* row = pr + i * kColorParams;
    const std::string at = "params: row " + std::to_string(i) + ": ";
    for (int k = 0; k < 4; ++k) {
      const float f = row[k];
      IMIX_CHECK(std::isfinite(f), Value, at + kNames[k] + " factor " + num(f) + " is not finite");
      if (k < 3)
        IMIX_CHECK(f >= 0.0f, Value, at + kNames[k] + " factor " + num(f) + " is negative");
      else
        IMIX_CHECK(f >= -0.5f && f <= 0.5f, Value, at + "hue shift " + num(f) + " is outside [-0.5, 0.5]");
    }
    bool seen[4] = {false, false, false, false};
    for (int k = 0; k < 4; ++k) {
      const float s = row[4 + k];
      IMIX_CHECK(s == -1.0f || s == 0.0f || s == 1.0f || s == 2.0f || s == 3.0f, Value,
                 at + "step " + std::to_string(k) + " is " + num(s) +
                     "; expected -1 (none), 0 (brightness), 1 (contrast), 2 (saturation) or 3 (hue)");
      if (s < 0.0f) continue;
      IMIX_CHECK(!seen[(int)s], Value, at + kNames[(int)s] + " appears twice among the steps");
      seen[(int)s] = true;
    }
  }
}

Napi::Value ColorAdjust(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  Tensor* params = a.tensor(2, "params");
  const float* xp;
  float* op;
  const Dispatch dev = images(x, out, "color adjust", &xp, &op);
  const float* pp = f32(params, {x->shape[0], kColorParams}, "params");
  expect_same_device(params, x, "params", "x");
  expect_no_alias(params, out, "params", "out");
  check_params(HostData<float>(params).get(), x->shape[0]);
  IMIX_KERNEL(dev, color_adjust, xp, op, x->shape[0], x->shape[1], x->shape[2] * x->shape[3], pp);
  return info.Env().Undefined();
}

Napi::Value RandomGrayscale(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  const float p = (float)a.number_in(2, "p", 0.0, 1.0);
  const PhiloxStream rng = a.philox(3);
  const float* xp;
  float* op;
  const Dispatch dev = images(x, out, "random grayscale", &xp, &op);
  IMIX_KERNEL(dev, random_grayscale, xp, op, x->shape[0], x->shape[1], x->shape[2] * x->shape[3], p, rng.seed,
              rng.offset);
  return info.Env().Undefined();
}

}  // namespace

void register_color_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "colorJitter", ColorJitter);
  bind(env, exports, "colorAdjust", ColorAdjust);
  bind(env, exports, "randomGrayscale", RandomGrayscale);
}

}  // namespace imix
