// Bindings: mixup(x, out, perm, lam|null, lamScalar),
// cutmixBox(lam, H, W, seed, offset) -> {y0, x0, y1, x1, lam},
// cutmix(x, out, perm, box). Both mixes are out of place: out may not overlap
// x (the permuted source rows are read while rows are written).
#include <string>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

// Largest image side cutmixBox accepts (keeps H·W and the word·W products exact).
constexpr int64_t kMaxSide = (int64_t{1} << 31) - 1;

Napi::Value Mixup(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  Tensor* perm = a.tensor(2, "perm");
  Tensor* lam = a.optional_tensor(3, "lam");
  float lam_scalar = 1.0f;
  if (!lam) lam_scalar = (float)a.number_in(4, "lamScalar", 0.0, 1.0);

  const float* xp = f32(x, "x");
  IMIX_CHECK(x->ndim() >= 1, Shape, "x: expected at least 1 dimension ([N, ...]), got a scalar");
  const int64_t N = x->shape[0];
  const int64_t F = N > 0 ? x->numel() / N : 0;
  float* op = f32(out, x->shape, "out");
  const int32_t* pp = i32_in(perm, {N}, "perm");  // read-only: keeps its content facts
  const float* lp = f32_in_opt(lam, {N}, "lam");
  expect_same_device({{out, "out"}, {perm, "perm"}, {lam, "lam"}}, x, "x");
  const Dispatch dev(x, "x");
  expect_no_alias(x, out, "x", "out");
  if (lam) expect_no_alias(lam, out, "lam", "out");
  check_permutation(perm, N, "perm");
  check_unit_interval(lam, N, "lam");
  IMIX_KERNEL(dev, mixup, xp, op, N, F, pp, lp, lam_scalar);
  return info.Env().Undefined();
}

Napi::Value CutmixBox(const Napi::CallbackInfo& info) {
  Args a(info);
  float lam = (float)a.number_in(0, "lam", 0.0, 1.0);
  int64_t H = a.integer(1, "H");
  int64_t W = a.integer(2, "W");
  const PhiloxStream rng = a.philox(3);
  IMIX_CHECK(H >= 1 && H <= kMaxSide, Value,
             "H: expected an image height in [1, 2^31), got " + std::to_string(H));
  IMIX_CHECK(W >= 1 && W <= kMaxSide, Value,
             "W: expected an image width in [1, 2^31), got " + std::to_string(W));
  float lam_out = 1.0f;
  cpu::Box b = cpu::cutmix_box(lam, H, W, rng.seed, rng.offset, &lam_out);
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("y0", Napi::Number::New(env, (double)b.y0));
  o.Set("x0", Napi::Number::New(env, (double)b.x0));
  o.Set("y1", Napi::Number::New(env, (double)b.y1));
  o.Set("x1", Napi::Number::New(env, (double)b.x1));
  o.Set("lam", Napi::Number::New(env, (double)lam_out));
  return o;
}

// An integer field of the box object (read beforehand: see Cutmix), within [lo, hi].
int64_t box_field(const Napi::Value& v, const char* key, int64_t lo, const char* lo_name, int64_t hi,
                  const char* hi_name) {
  const std::string name = std::string("box.") + key;
  IMIX_CHECK(v.IsNumber(), Argument, name + ": expected a number");
  double d = v.As<Napi::Number>().DoubleValue();
  IMIX_CHECK(std::isfinite(d) && d == std::floor(d), Value, name + ": expected an integer, got " + std::to_string(d));
  IMIX_CHECK(d >= (double)lo && d <= (double)hi, Value,
             name + ": " + std::to_string((int64_t)d) + " is outside [" + lo_name + " = " + std::to_string(lo) +
                 ", " + hi_name + " = " + std::to_string(hi) + "]");
  return (int64_t)d;
}

Napi::Value Cutmix(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* out = a.tensor(1, "out");
  Tensor* perm = a.tensor(2, "perm");
  IMIX_CHECK(a.present(3) && a.raw(3).IsObject(), Argument,
             "box: expected an object {y0, x0, y1, x1}");
  // Reading the fields may run user code (getters) that could dispose an
  // operand: read them all now, before any data pointer is taken.
  Napi::Object bo = a.raw(3).As<Napi::Object>();
  const Napi::Value by0 = bo.Get("y0"), by1 = bo.Get("y1"), bx0 = bo.Get("x0"), bx1 = bo.Get("x1");
  a.still_live();

  const float* xp = f32(x, "x");
  IMIX_CHECK(x->ndim() == 4, Shape,
             "x: CutMix needs spatial [N, C, H, W] data, got shape " + x->shape_str() +
                 " (use mixup for non-image data)");
  const int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  float* op = f32(out, x->shape, "out");
  const int32_t* pp = i32_in(perm, {N}, "perm");
  cpu::Box b;
  b.y0 = box_field(by0, "y0", 0, "0", H, "H");
  b.y1 = box_field(by1, "y1", b.y0, "y0", H, "H");
  b.x0 = box_field(bx0, "x0", 0, "0", W, "W");
  b.x1 = box_field(bx1, "x1", b.x0, "x0", W, "W");
  expect_same_device({{out, "out"}, {perm, "perm"}}, x, "x");
  const Dispatch dev(x, "x");
  expect_no_alias(x, out, "x", "out");
  check_permutation(perm, N, "perm");
  IMIX_KERNEL(dev, cutmix, xp, op, N, C, H, W, pp, b);
  return info.Env().Undefined();
}

}  // namespace

void register_mix_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "mixup", Mixup);
  bind(env, exports, "cutmixBox", CutmixBox);
  bind(env, exports, "cutmix", Cutmix);
}

}  // namespace imix
