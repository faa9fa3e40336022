// Bindings of the geometric image views on [N, C, H, W] float32 images, out of
// place (out may not overlap x: a resampled or shifted plane reads rows that
// other rows write), on CPU or CUDA tensors (IMIX_KERNEL):
//   randomCropFlip(x, out, pad, flipP, seed, offset)
//   randomResizedCrop(x, out, scaleLo, scaleHi, ratioLo, ratioHi, flipP, seed, offset)
//   resizedCrop(x, out, top, left, height, width, flip)
// seed/offset: non-negative integers below 2^53 (Args::philox).
#include <string>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

// Largest padding accepted (keeps 2·pad+1 and the offset products exact).
constexpr int64_t kMaxPad = (int64_t{1} << 31) - 1;
// Largest H and W of a resized crop: column indices are int32 and the
// position draws ⌊u·(H − h + 1)⌋ stay exact in 64-bit integers.
constexpr int64_t kMaxSide = (int64_t{1} << 31) - 1;

Napi::Value RandomCropFlip(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  int64_t pad = a.integer(2, "pad");
  double flip_p = a.number_in(3, "flipP", 0.0, 1.0);
  const PhiloxStream rng = a.philox(4);
  IMIX_CHECK(pad >= 0 && pad <= kMaxPad, Value,
             "pad: expected an integer in [0, 2^31), got " + std::to_string(pad));

  const float* xp;
  float* op;
  const Dispatch dev = batch_pair(x, out, 4, "random crop and flip need spatial [N, C, H, W] data", false, &xp, &op);
  IMIX_KERNEL(dev, random_crop_flip, xp, op, x->shape[0], x->shape[1], x->shape[2], x->shape[3], pad,
              (float)flip_p, rng.seed, rng.offset);
  return info.Env().Undefined();
}

Napi::Value RandomResizedCrop(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  double scale_lo = a.number(2, "scaleLo");
  double scale_hi = a.number(3, "scaleHi");
  double ratio_lo = a.number(4, "ratioLo");
  double ratio_hi = a.number(5, "ratioHi");
  double flip_p = a.number_in(6, "flipP", 0.0, 1.0);
  const PhiloxStream rng = a.philox(7);
  IMIX_CHECK(scale_lo > 0.0 && scale_lo <= 1.0, Value,
             "scaleLo: expected an area fraction in (0, 1], got " + std::to_string(scale_lo));
  IMIX_CHECK(scale_hi >= scale_lo && scale_hi <= 1.0, Value,
             "scaleHi: expected an area fraction in [scaleLo, 1] = [" + std::to_string(scale_lo) + ", 1], got " +
                 std::to_string(scale_hi));
  IMIX_CHECK(ratio_lo > 0.0, Value, "ratioLo: expected a positive aspect ratio, got " + std::to_string(ratio_lo));
  IMIX_CHECK(ratio_hi >= ratio_lo, Value,
             "ratioHi: expected an aspect ratio >= ratioLo = " + std::to_string(ratio_lo) + ", got " +
                 std::to_string(ratio_hi));

  const float* xp;
  float* op;
  const Dispatch dev = batch_pair(x, out, 4, "random resized crop needs spatial [N, C, H, W] data", false, &xp, &op);
  const int64_t H = x->shape[2], W = x->shape[3];
  IMIX_CHECK(H <= kMaxSide && W <= kMaxSide, Shape,
             "x: random resized crop takes images up to 2^31 - 1 pixels a side, got shape " + x->shape_str());
  IMIX_KERNEL(dev, random_resized_crop, xp, op, x->shape[0], x->shape[1], H, W, scale_lo, scale_hi, ratio_lo,
              ratio_hi, (float)flip_p, rng.seed, rng.offset);
  return info.Env().Undefined();
}

Napi::Value ResizedCrop(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  int64_t top = a.integer(2, "top");
  int64_t left = a.integer(3, "left");
  int64_t height = a.integer(4, "height");
  int64_t width = a.integer(5, "width");
  bool flip = a.boolean(6, "flip");

  const float* xp;
  float* op;
  const Dispatch dev = batch_pair(x, out, 4, "resized crop needs spatial [N, C, H, W] data", false, &xp, &op);
  const int64_t H = x->shape[2], W = x->shape[3];
  IMIX_CHECK(H <= kMaxSide && W <= kMaxSide, Shape,
             "x: resized crop takes images up to 2^31 - 1 pixels a side, got shape " + x->shape_str());
  // Each bound checked on its own (no sums that could overflow).
  IMIX_CHECK(height >= 1 && height <= H, Value,
             "height: expected an integer in [1, H] = [1, " + std::to_string(H) + "], got " + std::to_string(height));
  IMIX_CHECK(width >= 1 && width <= W, Value,
             "width: expected an integer in [1, W] = [1, " + std::to_string(W) + "], got " + std::to_string(width));
  IMIX_CHECK(top >= 0 && top <= H - height, Value,
             "top: expected an integer in [0, H - height] = [0, " + std::to_string(H - height) + "], got " +
                 std::to_string(top));
  IMIX_CHECK(left >= 0 && left <= W - width, Value,
             "left: expected an integer in [0, W - width] = [0, " + std::to_string(W - width) + "], got " +
                 std::to_string(left));
  CropBox box;
  box.top = top;
  box.left = left;
  box.h = height;
  box.w = width;
  box.flip = flip ? 1 : 0;
  IMIX_KERNEL(dev, resized_crop, xp, op, x->shape[0], x->shape[1], H, W, box);
  return info.Env().Undefined();
}

}  // namespace

void register_augment_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "randomCropFlip", RandomCropFlip);
  bind(env, exports, "randomResizedCrop", RandomResizedCrop);
  bind(env, exports, "resizedCrop", ResizedCrop);
}

}  // namespace imix
