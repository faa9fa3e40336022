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
// (Args::u64). Sizes need no further bound: a tensor's extent is below 2^40
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
  uint64_t seed = a.u64(3, "seed");
  uint64_t offset = a.u64(4, "offset");
  IMIX_CHECK(max_shift >= 0 && max_shift <= kMaxShift, Value,
             "maxShift: expected an integer in [0, 2^31), got " + std::to_string(max_shift));
  const float* xp;
  float* op;
  const Dispatch dev = batch_pair(x, out, 3, "time shift needs signals [N, C, L]", false, &xp, &op);
  IMIX_KERNEL(dev, time_shift, xp, op, x->shape[0], x->shape[1], x->shape[2], max_shift, seed, offset);
  return info.Env().Undefined();
}

Napi::Value RandomTimeCrop(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  double min_scale = a.number_in(2, "minScale", 0.0, 1.0);
  double max_scale = a.number_in(3, "maxScale", 0.0, 1.0);
  uint64_t seed = a.u64(4, "seed");
  uint64_t offset = a.u64(5, "offset");
  IMIX_CHECK(min_scale > 0.0, Value, "minScale: expected a fraction in (0, 1], got " + std::to_string(min_scale));
  IMIX_CHECK(min_scale <= max_scale, Value,
             "maxScale: " + std::to_string(max_scale) + " is below minScale " + std::to_string(min_scale));
  const float* xp;
  float* op;
  const Dispatch dev = batch_pair(x, out, 3, "random time crop needs signals [N, C, L]", false, &xp, &op);
  IMIX_KERNEL(dev, random_time_crop, xp, op, x->shape[0], x->shape[1], x->shape[2], min_scale, max_scale, seed,
              offset);
  return info.Env().Undefined();
}

Napi::Value AmplitudeScale(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  // Factors are rounded to float32: a bound beyond the float range would make them infinite.
  const double fmax = (double)std::numeric_limits<float>::max();
  double lo = a.number_in(2, "lo", -fmax, fmax);
  double hi = a.number_in(3, "hi", -fmax, fmax);
  uint64_t seed = a.u64(4, "seed");
  uint64_t offset = a.u64(5, "offset");
  IMIX_CHECK(lo <= hi, Value, "hi: " + std::to_string(hi) + " is below lo " + std::to_string(lo));
  const float* xp;
  float* op;
  const Dispatch dev = batch_pair(x, out, 3, "amplitude scaling needs signals [N, C, L]", true, &xp, &op);
  IMIX_KERNEL(dev, amplitude_scale, xp, op, x->shape[0], x->shape[1], x->shape[2], lo, hi, seed, offset);
  return info.Env().Undefined();
}

}  // namespace

void register_signal_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "timeShift", TimeShift);
  bind(env, exports, "randomTimeCrop", RandomTimeCrop);
  bind(env, exports, "amplitudeScale", AmplitudeScale);
}

}  // namespace imix
