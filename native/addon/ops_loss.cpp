// Bindings for the loss family:
//   l2normalizeForward(x, y, norms, eps)
//   l2normalizeBackward(dy, y, norms, dx)
//   mixedCrossEntropy(logits, targets|null, perm|null, lam|null, colOffset, scale, losses|null) -> sum
//     (logits may be a row-strided view: row stride ≥ its width, e.g. MoCo's
//     rows padded to a multiple of 4 floats; the padding is never touched)
//   mixedCosine(p, k, perm|null, lam|null, scale, dp|null, losses|null) -> sum
// Everything is validated (dtypes, shapes, devices, index ranges, λ range,
// aliasing) before a kernel touches memory.
#include <cmath>
#include <string>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

// A finite number that stays finite as a float32 (the kernels take float).
double f32_scalar(const Args& a, size_t i, const char* name) {
  double v = a.number(i, name);
  IMIX_CHECK(std::fabs(v) <= 3.4028234663852886e38, Value,
             std::string(name) + ": " + std::to_string(v) + " overflows float32");
  return v;
}

double positive_eps(const Args& a, size_t i) {
  double eps = a.number(i, "eps");
  IMIX_CHECK(eps > 0.0 && (float)eps > 0.0f && (float)eps < INFINITY, Value,
             "eps: expected a positive float32 value, got " + std::to_string(eps));
  return eps;
}

Napi::Value L2NormalizeForward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* y = a.tensor(1, "y");
  Tensor* norms = a.tensor(2, "norms");
  double eps = positive_eps(a, 3);
  const float* xp = f32(x, "x");
  float* yp = f32(y, "y");
  float* np_ = f32(norms, "norms");
  expect_ndim(x, 2, "x");
  const int64_t N = x->shape[0], D = x->shape[1];
  expect_shape(y, {N, D}, "y");
  expect_shape(norms, {N}, "norms");
  expect_same_device({{y, "y"}, {norms, "norms"}}, x, "x");
  const Dispatch dev(x, "x");
  expect_same_or_no_alias(y, x, "y", "x");  // in place (y = x) is fine
  expect_no_alias(x, norms, "x", "norms");
  expect_no_alias(y, norms, "y", "norms");
  IMIX_KERNEL(dev, l2normalize_forward, xp, yp, np_, N, D, (float)eps);
  return info.Env().Undefined();
}

Napi::Value L2NormalizeBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* dy = a.tensor(0, "dy");
  Tensor* y = a.tensor(1, "y");
  Tensor* norms = a.tensor(2, "norms");
  Tensor* dx = a.tensor(3, "dx");
  const float* dyp = f32(dy, "dy");
  const float* yp = f32(y, "y");
  const float* np_ = f32(norms, "norms");
  float* dxp = f32(dx, "dx");
  expect_ndim(y, 2, "y");
  const int64_t N = y->shape[0], D = y->shape[1];
  expect_shape(dy, {N, D}, "dy");
  expect_shape(norms, {N}, "norms");
  expect_shape(dx, {N, D}, "dx");
  expect_same_device({{dy, "dy"}, {norms, "norms"}, {dx, "dx"}}, y, "y");
  const Dispatch dev(y, "y");
  expect_same_or_no_alias(dx, dy, "dx", "dy");
  expect_no_alias(dx, "dx", {{y, "y"}, {norms, "norms"}});
  IMIX_KERNEL(dev, l2normalize_backward, dyp, yp, np_, dxp, N, D);
  return info.Env().Undefined();
}

Napi::Value MixedCrossEntropy(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* logits = a.tensor(0, "logits");
  Tensor* targets = a.optional_tensor(1, "targets");
  Tensor* perm = a.optional_tensor(2, "perm");
  Tensor* lam = a.optional_tensor(3, "lam");
  const int64_t col_offset = a.integer(4, "colOffset");
  const double scale = f32_scalar(a, 5, "scale");
  Tensor* losses = a.optional_tensor(6, "losses");

  const RowMatrix L = row_matrix_f32(logits, "logits");
  float* lp = L.p;
  const int64_t N = L.rows, M = L.cols;
  // (read-only: their content facts let the checks below skip a device read)
  const int32_t* tp = i32_in_opt(targets, {N}, "targets");
  const int32_t* pp = i32_in_opt(perm, {N}, "perm");
  const float* lamp = f32_in_opt(lam, {N}, "lam");
  float* lossp = f32_opt(losses, {N}, "losses");
  expect_same_device({{targets, "targets"}, {perm, "perm"}, {lam, "lam"}, {losses, "losses"}}, logits, "logits");
  const Dispatch dev(logits, "logits");
  if (lam) expect_no_alias(lam, logits, "lam", "logits");
  expect_no_alias(losses, "losses", {{logits, "logits"}, {lam, "lam"}});

  // Index ranges: every target column a_i, b_i = colOffset + t must lie in [0, M).
  IMIX_CHECK(col_offset >= 0, Value, "colOffset: expected a non-negative integer, got " + std::to_string(col_offset));
  if (N > 0) {
    IMIX_CHECK(col_offset < M, Value,
               "colOffset: " + std::to_string(col_offset) + " leaves no target column in logits of " +
                   std::to_string(M) + " columns");
    if (tp && !facts_in_range(targets, 0, M - col_offset)) {
      const int64_t hi = M - col_offset;
      const HostData<int32_t> th(targets);
      const int32_t* t = th.get();
      for (int64_t i = 0; i < N; ++i)
        IMIX_CHECK(t[i] >= 0 && t[i] < hi, Value,
                   "targets: entry " + std::to_string(i) + " is " + std::to_string(t[i]) + ", outside [0, " +
                       std::to_string(hi) + ") (logits has " + std::to_string(M) + " columns, colOffset " +
                       std::to_string(col_offset) + ")");
    } else if (!tp) {
      IMIX_CHECK(N <= M - col_offset, Value,  // col_offset < M: no overflow
                 "colOffset: target columns colOffset + i (i < " + std::to_string(N) + ") run past the " +
                     std::to_string(M) + " columns of logits (colOffset " + std::to_string(col_offset) +
                     "); pass targets or a smaller colOffset");
    }
  }
  check_permutation(perm, N, "perm");
  check_unit_interval(lam, N, "lam");

  double sum = IMIX_KERNEL(dev, mixed_cross_entropy, lp, N, M, L.ld, tp, pp, lamp, col_offset, (float)scale, lossp);
  return Napi::Number::New(info.Env(), sum);
}

Napi::Value MixedCosine(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* p = a.tensor(0, "p");
  Tensor* k = a.tensor(1, "k");
  Tensor* perm = a.optional_tensor(2, "perm");
  Tensor* lam = a.optional_tensor(3, "lam");
  const double scale = f32_scalar(a, 4, "scale");
  Tensor* dp = a.optional_tensor(5, "dp");
  Tensor* losses = a.optional_tensor(6, "losses");

  const float* pptr = f32(p, "p");
  expect_ndim(p, 2, "p");
  const int64_t N = p->shape[0], D = p->shape[1];
  const float* kptr = f32(k, {N, D}, "k");
  const int32_t* permp = i32_in_opt(perm, {N}, "perm");
  const float* lamp = f32_in_opt(lam, {N}, "lam");
  float* dpp = f32_opt(dp, {N, D}, "dp");
  float* lossp = f32_opt(losses, {N}, "losses");
  // Rows without features have no direction (the cosine is 0/0); and the
  // kernel keeps a loss per row, which for [N, 0] operands would be memory
  // (and time) that nothing the caller allocated bounds.
  IMIX_CHECK(N == 0 || D > 0, Shape,
             "p: rows have no features (shape " + p->shape_str() + "); the cosine loss needs at least 1 column");
  expect_same_device({{k, "k"}, {perm, "perm"}, {lam, "lam"}, {dp, "dp"}, {losses, "losses"}}, p, "p");
  const Dispatch dev(p, "p");
  // The outputs are written while p, k and λ are read.
  expect_no_alias(dp, "dp", {{p, "p"}, {k, "k"}, {lam, "lam"}});
  expect_no_alias(losses, "losses", {{p, "p"}, {k, "k"}, {lam, "lam"}, {dp, "dp"}});
  check_permutation(perm, N, "perm");
  check_unit_interval(lam, N, "lam");

  double sum = IMIX_KERNEL(dev, mixed_cosine, pptr, kptr, N, D, permp, lamp, (float)scale, dpp, lossp);
  return Napi::Number::New(info.Env(), sum);
}

}  // namespace

void register_loss_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "l2normalizeForward", L2NormalizeForward);
  bind(env, exports, "l2normalizeBackward", L2NormalizeBackward);
  bind(env, exports, "mixedCrossEntropy", MixedCrossEntropy);
  bind(env, exports, "mixedCosine", MixedCosine);
}

}  // namespace imix
