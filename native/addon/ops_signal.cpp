// Bindings of the signal views on [N, C, L] float32 signals (kernels:
// native/cpu/signal_views.cpp, native/cuda/signal_views.cu):
//   timeShift(x, out, maxShift, seed, offset)
//   randomTimeCrop(x, out, minScale, maxScale, seed, offset)
//   amplitudeScale(x, out, lo, hi, seed, offset)
// x and out: float32, contiguous, 3-D, the same shape and device.
// Aliasing: timeShift and randomTimeCrop are out of place (out may not
// overlap x at all: a shifted or stretched row reads samples that another
// position writes); amplitudeScale may run in place (out is x itself) but
// rejects a partial overlap. seed/offset: non-negative integers below 2^53
// (Args::philox). Sizes need no further bound: a tensor's extent is below 2^40
// (extent.h), which keeps L − ℓ + 1 and 2·maxShift + 1 small enough for the
// exact integer draws of native/common/signal_views.h.
#include <cmath>
#include <limits>
#include <string>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

// Largest maxShift accepted (as randomCropFlip's pad).
constexpr int64_t kMaxShift = (int64_t{1} << 31) - 1;

Napi::Value TimeShift(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  int64_t max_shift = a.integer(2, "maxShift");
  const PhiloxStream rng = a.philox(3);
  IMIX_CHECK(max_shift >= 0 && max_shift <= kMaxShift, Value,
             "maxShift: expected an integer in [0, 2^31), got " + std::to_string(max_shift));
  const float* xp;
  float* op;
  const Dispatch dev = batch_pair(x, out, 3, "time shift needs signals [N, C, L]", false, &xp, &op);
  IMIX_KERNEL(dev, time_shift, xp, op, x->shape[0], x->shape[1], x->shape[2], max_shift, rng.seed, rng.offset);
  return info.Env().Undefined();
}

Napi::Value RandomTimeCrop(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  const Range scale = a.range(2, "minScale", "maxScale", 0.0, 1.0);
  const PhiloxStream rng = a.philox(4);
  IMIX_CHECK(scale.lo > 0.0, Value, "minScale: expected a fraction in (0, 1], got " + std::to_string(scale.lo));
  const float* xp;
  float* op;
  const Dispatch dev = batch_pair(x, out, 3, "random time crop needs signals [N, C, L]", false, &xp, &op);
  IMIX_KERNEL(dev, random_time_crop, xp, op, x->shape[0], x->shape[1], x->shape[2], scale.lo, scale.hi, rng.seed,
              rng.offset);
  return info.Env().Undefined();
}

Napi::Value AmplitudeScale(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  // Factors are rounded to float32: a bound beyond the float range would make them infinite.
  const double fmax = (double)std::numeric_limits<float>::max();
  const Range range = a.range(2, "lo", "hi", -fmax, fmax);
  const PhiloxStream rng = a.philox(4);
  const float* xp;
  float* op;
  const Dispatch dev = batch_pair(x, out, 3, "amplitude scaling needs signals [N, C, L]", true, &xp, &op);
  IMIX_KERNEL(dev, amplitude_scale, xp, op, x->shape[0], x->shape[1], x->shape[2], range.lo, range.hi, rng.seed,
              rng.offset);
  return info.Env().Undefined();
}

}  // namespace

void register_signal_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "timeShift", TimeShift);
  bind(env, exports, "randomTimeCrop", RandomTimeCrop);
  bind(env, exports, "amplitudeScale", AmplitudeScale);
}

}  // namespace imix
