// Bindings: randomCropFlip(x, out, pad, flipP, seed, offset) — random crop
// with zero padding and horizontal flip of [N, C, H, W] images, out of place
// (out may not overlap x: a shifted plane reads rows another row writes).
// seed/offset: non-negative integers below 2^53 (Args::u64).
#include <string>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

// Largest padding accepted (keeps 2·pad+1 and the offset products exact).
constexpr int64_t kMaxPad = (int64_t{1} << 31) - 1;

Napi::Value RandomCropFlip(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  int64_t pad = a.integer(2, "pad");
  double flip_p = a.number_in(3, "flipP", 0.0, 1.0);
  uint64_t seed = a.u64(4, "seed");
  uint64_t offset = a.u64(5, "offset");
  IMIX_CHECK(pad >= 0 && pad <= kMaxPad, Value,
             "pad: expected an integer in [0, 2^31), got " + std::to_string(pad));

  const float* xp = f32(x, "x");
  IMIX_CHECK(x->ndim() == 4, Shape,
             "x: random crop and flip need spatial [N, C, H, W] data, got shape " + x->shape_str());
  float* op = f32(out, x->shape, "out");
  expect_same_device(out, x, "out", "x");
  expect_cpu(x, "x");
  expect_no_alias(x, out, "x", "out");
  cpu::random_crop_flip(xp, op, x->shape[0], x->shape[1], x->shape[2], x->shape[3], pad, (float)flip_p,
                        seed, offset);
  return info.Env().Undefined();
}

}  // namespace

void register_augment_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "randomCropFlip", RandomCropFlip);
}

}  // namespace imix
