// Bindings: randUniform(out, seed, offset), randNormal(out, seed, offset, mean, std),
// inputDrop(x, out, p, seed, offset), gaussianNoise(x, out, std, seed, offset).
// seed/offset: non-negative integers below 2^53 (Args::philox). The elementwise
// ones may run in place (out is x itself); a partial overlap is rejected.
#include <cmath>
#include <limits>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

// A finite number that stays finite as float32 (and ≥ lo).
float float_arg(const Args& a, size_t i, const char* name, double lo) {
  double v = a.number(i, name);
  IMIX_CHECK(v >= lo, Value, std::string(name) + ": " + std::to_string(v) + " is below " + std::to_string(lo));
  IMIX_CHECK(std::fabs(v) <= (double)std::numeric_limits<float>::max(), Value,
             std::string(name) + ": " + std::to_string(v) + " does not fit a float32");
  return (float)v;
}

// x and out: float32, contiguous, same element count and device; returns
// the device to run on.
Dispatch elementwise_pair(Tensor* x, Tensor* out, const float** xp, float** op) {
  *xp = f32(x, "x");
  *op = f32(out, "out");
  expect_same_device(out, x, "out", "x");
  expect_same_numel(out, x, "out", "x");
  const Dispatch dev(x, "x");
  expect_same_or_no_alias(x, out, "x", "out");  // in place (out = x) is fine
  return dev;
}

Napi::Value RandUniform(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* out = a.tensor(0, "out");
  const PhiloxStream rng = a.philox(1);
  float* op = f32(out, "out");
  const Dispatch dev(out, "out");
  IMIX_KERNEL(dev, rand_uniform, op, out->numel(), rng.seed, rng.offset);
  return info.Env().Undefined();
}

Napi::Value RandNormal(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* out = a.tensor(0, "out");
  const PhiloxStream rng = a.philox(1);
  float mean = float_arg(a, 3, "mean", -HUGE_VAL);
  float sd = float_arg(a, 4, "std", 0.0);
  float* op = f32(out, "out");
  const Dispatch dev(out, "out");
  IMIX_KERNEL(dev, rand_normal, op, out->numel(), rng.seed, rng.offset, mean, sd);
  return info.Env().Undefined();
}

Napi::Value InputDrop(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  double p = a.number_in(2, "p", 0.0, 1.0);
  const PhiloxStream rng = a.philox(3);
  const float* xp;
  float* op;
  const Dispatch dev = elementwise_pair(x, out, &xp, &op);
  IMIX_KERNEL(dev, input_drop, xp, op, x->numel(), (float)p, rng.seed, rng.offset);
  return info.Env().Undefined();
}

Napi::Value GaussianNoise(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  float sd = float_arg(a, 2, "std", 0.0);
  const PhiloxStream rng = a.philox(3);
  const float* xp;
  float* op;
  const Dispatch dev = elementwise_pair(x, out, &xp, &op);
  IMIX_KERNEL(dev, gaussian_noise, xp, op, x->numel(), sd, rng.seed, rng.offset);
  return info.Env().Undefined();
}

}  // namespace

void register_random_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "randUniform", RandUniform);
  bind(env, exports, "randNormal", RandNormal);
  bind(env, exports, "inputDrop", InputDrop);
  bind(env, exports, "gaussianNoise", GaussianNoise);
}

}  // namespace imix
