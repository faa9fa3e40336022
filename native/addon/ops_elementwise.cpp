// Bindings: axpby, rowdot, rowScaleAdd, maxoutForward/Backward, gatherRows, sum,
// addReluForward (the residual join y = max(a + b, 0)).
#include <algorithm>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

// A vector of N floats that may be a strided column view ([N] or [N, 1]):
// returns its element stride.
int64_t column_stride(const Tensor* t, int64_t N, const char* name) {
  expect_dtype(t, DType::F32, name);
  bool ok = (t->ndim() == 1 && t->shape[0] == N) || (t->ndim() == 2 && t->shape[0] == N && t->shape[1] == 1);
  IMIX_CHECK(ok, Shape, std::string(name) + ": expected shape [" + std::to_string(N) + "] or [" +
                            std::to_string(N) + ", 1], got " + t->shape_str());
  return t->strides[0];
}

// maxout's k: the number of features each output takes the maximum over.
int64_t group_size(const Args& a, size_t i) {
  int64_t k = a.integer(i, "k");
  IMIX_CHECK(k >= 1, Value, "k: expected a group size >= 1, got " + std::to_string(k));
  return k;
}

Napi::Value Axpby(const Napi::CallbackInfo& info) {
  Args a(info);
  double alpha = a.number(0, "a");
  Tensor* x = a.tensor(1, "x");
  double beta = a.number(2, "b");
  Tensor* y = a.tensor(3, "y");
  const float* xp = f32(x, "x");
  float* yp = f32(y, "y");
  expect_same_device(x, y, "x", "y");
  const Dispatch dev(y, "y");
  expect_same_numel(x, y, "x", "y");
  // In place (x is y) is fine: each element is read, then written by one
  // thread. A partial overlap is not: on CUDA one thread's write of y[i] races
  // another's read of the same memory as x[j].
  expect_same_or_no_alias(y, x, "y", "x");
  IMIX_KERNEL(dev, axpby, (float)alpha, xp, (float)beta, yp, y->numel());
  return info.Env().Undefined();
}

Napi::Value Rowdot(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* ta = a.tensor(0, "a");
  Tensor* tb = a.tensor(1, "b");
  Tensor* out = a.tensor(2, "out");
  double alpha = a.number(3, "alpha");
  expect_ndim(ta, 2, "a");
  int64_t N = ta->shape[0], D = ta->shape[1];
  expect_shape(tb, {N, D}, "b");
  const float* ap = f32(ta, "a");
  const float* bp = f32(tb, "b");
  int64_t st = column_stride(out, N, "out");
  expect_same_device({{tb, "b"}, {out, "out"}}, ta, "a");
  const Dispatch dev(ta, "a");
  IMIX_CHECK(out->storage != ta->storage && out->storage != tb->storage, Value,
             "out: overlaps an input; rowdot is out of place");
  IMIX_KERNEL(dev, rowdot, ap, bp, (float*)out->data(), st, N, D, (float)alpha);
  return info.Env().Undefined();
}

Napi::Value RowScaleAdd(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* y = a.tensor(0, "y");
  Tensor* s = a.tensor(1, "s");
  Tensor* x = a.tensor(2, "x");
  double alpha = a.number(3, "alpha");
  expect_ndim(y, 2, "y");
  int64_t N = y->shape[0], D = y->shape[1];
  expect_shape(x, {N, D}, "x");
  float* yp = f32(y, "y");
  const float* xp = f32(x, "x");
  int64_t st = column_stride(s, N, "s");
  expect_same_device({{x, "x"}, {s, "s"}}, y, "y");
  const Dispatch dev(y, "y");
  expect_no_alias(x, y, "x", "y");
  // s must not live in y: the CUDA kernel runs a thread per element of y, so
  // a row's s[i] (e.g. a column of y) could be updated while other threads of
  // the row still read it. By storage, as rowdot's out: s may be a strided
  // view whose extent numel() does not give.
  IMIX_CHECK(s->storage != y->storage, Value, "s: overlaps y; rowScaleAdd reads s while it writes y");
  IMIX_KERNEL(dev, row_scale_add, yp, (const float*)s->data(), st, xp, N, D, (float)alpha);
  return info.Env().Undefined();
}

Napi::Value MaxoutForward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* y = a.tensor(1, "y");
  Tensor* am = a.tensor(2, "argmax");
  int64_t k = group_size(a, 3);
  expect_ndim(x, 2, "x");
  int64_t N = x->shape[0];
  IMIX_CHECK(x->shape[1] % k == 0, Shape,
             "x: " + std::to_string(x->shape[1]) + " features are not a multiple of k = " + std::to_string(k));
  int64_t F = x->shape[1] / k;
  expect_shape(y, {N, F}, "y");
  expect_shape(am, {N, F}, "argmax");
  const float* xp = f32(x, "x");
  float* yp = f32(y, "y");
  int32_t* ap = i32(am, "argmax");
  expect_same_device({{y, "y"}, {am, "argmax"}}, x, "x");
  const Dispatch dev(x, "x");
  expect_no_alias(x, y, "x", "y");
  IMIX_KERNEL(dev, maxout_forward, xp, yp, ap, N, F, k);
  // Every argmax the kernel writes is a group index in [0, k) (maxout_group:
  // NaN included), so maxoutBackward need not read it back to check it.
  ContentFacts f;
  f.hi = (int32_t)std::min<int64_t>(k - 1, INT32_MAX);
  am->set_facts(f);
  return info.Env().Undefined();
}

Napi::Value MaxoutBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* dy = a.tensor(0, "dy");
  Tensor* am = a.tensor(1, "argmax");
  Tensor* dx = a.tensor(2, "dx");
  int64_t k = group_size(a, 3);
  expect_ndim(dy, 2, "dy");
  int64_t N = dy->shape[0], F = dy->shape[1];
  expect_shape(am, {N, F}, "argmax");
  expect_shape(dx, {N, checked_mul(F, k, "k")}, "dx");  // k < 2^53: F·k can overflow
  const float* dyp = f32(dy, "dy");
  const int32_t* ap = i32_in(am, "argmax");
  float* dxp = f32(dx, "dx");
  expect_same_device({{am, "argmax"}, {dx, "dx"}}, dy, "dy");
  const Dispatch dev(dy, "dy");
  expect_no_alias(dy, dx, "dy", "dx");
  check_indices(am, am->numel(), 0, k, "argmax");
  IMIX_KERNEL(dev, maxout_backward, dyp, ap, dxp, N, F, k);
  return info.Env().Undefined();
}

Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* src = a.tensor(0, "src");
  Tensor* idx = a.tensor(1, "idx");
  Tensor* out = a.tensor(2, "out");
  IMIX_CHECK(src->ndim() >= 1, Shape, "src: expected at least one dimension");
  int64_t R = src->shape[0];
  int64_t F = R ? src->numel() / R : 0;
  expect_ndim(idx, 1, "idx");
  int64_t B = idx->shape[0];
  std::vector<int64_t> want = src->shape;
  want[0] = B;
  expect_shape(out, want, "out");
  const float* sp = f32(src, "src");
  const int32_t* ip = i32_in(idx, "idx");
  float* op = f32(out, "out");
  expect_same_device({{idx, "idx"}, {out, "out"}}, src, "src");
  const Dispatch dev(src, "src");
  expect_no_alias(src, out, "src", "out");
  check_indices(idx, B, 0, R, "idx");
  IMIX_KERNEL(dev, gather_rows, sp, ip, op, B, F);
  return info.Env().Undefined();
}

Napi::Value Sum(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  const float* xp = f32(x, "x");
  const Dispatch dev(x, "x");
  return Napi::Number::New(info.Env(), IMIX_KERNEL(dev, sum, xp, x->numel()));
}

// addReluForward(a, b, y): y = max(a + b, 0) elementwise over one element
// count (any shapes); y may be a or b itself (in place), but not overlap
// either partially.
Napi::Value AddReluForward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* ta = a.tensor(0, "a");
  Tensor* tb = a.tensor(1, "b");
  Tensor* y = a.tensor(2, "y");
  const float* ap = f32(ta, "a");
  const float* bp = f32(tb, "b");
  float* yp = f32(y, "y");
  expect_same_numel(tb, ta, "b", "a");
  expect_same_numel(y, ta, "y", "a");
  expect_same_device({{tb, "b"}, {y, "y"}}, ta, "a");
  const Dispatch dev(ta, "a");
  expect_same_or_no_alias(y, ta, "y", "a");
  expect_same_or_no_alias(y, tb, "y", "b");
  IMIX_KERNEL(dev, add_relu_forward, ap, bp, yp, y->numel());
  return info.Env().Undefined();
}

}  // namespace

void register_elementwise_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "axpby", Axpby);
  bind(env, exports, "rowdot", Rowdot);
  bind(env, exports, "rowScaleAdd", RowScaleAdd);
  bind(env, exports, "maxoutForward", MaxoutForward);
  bind(env, exports, "maxoutBackward", MaxoutBackward);
  bind(env, exports, "gatherRows", GatherRows);
  bind(env, exports, "sum", Sum);
  bind(env, exports, "addReluForward", AddReluForward);
}

}  // namespace imix
