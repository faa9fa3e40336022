// Bindings for the gemm family:
//   gemm(A, B, C, transA, transB, alpha, beta)
//   linearForward(x, W, b|null, y)
//   linearBackward(x, W, dy, dx|null, dW, db|null, accumulate)
//   biasAdd(y, b), biasGrad(dy, db, accumulate)
//   reluForward(x, y), reluBackward(dy, y, dx)
// gemm takes 2-D float32 matrices that are contiguous or row-strided views
// (unit stride along the row, row stride ≥ width: a column block of a
// bigger matrix); the row stride becomes the leading dimension. The linear,
// bias and relu ops take contiguous tensors.
#include <cfloat>
#include <climits>
#include <cmath>
#include <string>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

std::string S(int64_t v) { return std::to_string(v); }

// A gemm operand: a row-strided matrix (args.h) whose dimensions and
// leading dimension fit BLAS's and cuBLAS's int.
using Mat = RowMatrix;
Mat mat2d(Tensor* t, const char* name) {
  const Mat m = row_matrix_f32(t, name);
  IMIX_CHECK(m.rows <= INT_MAX && m.cols <= INT_MAX && m.ld <= INT_MAX, Shape,
             std::string(name) + ": dimensions and row stride must be below 2^31, got shape " + t->shape_str() +
                 " strides [" + S(t->strides[0]) + ", " + S(t->strides[1]) + "]");
  return m;
}

// Do two 2-D views share any element? Exact for the common cases (different
// storage, disjoint extents, column blocks of one matrix with the same row
// stride); otherwise it answers "yes" (conservative).
bool overlaps(const Mat& a, const Mat& b) {
  if (a.t->storage != b.t->storage || a.empty() || b.empty()) return false;
  if (a.end() <= b.begin() || b.end() <= a.begin()) return false;
  int64_t L = 0;  // a row stride both views can be laid on
  if (a.rows > 1 && b.rows > 1) L = a.ld == b.ld ? a.ld : 0;
  else if (a.rows > 1) L = a.ld;
  else if (b.rows > 1) L = b.ld;
  if (L == 0 || a.cols > L || b.cols > L) return true;
  // Column residues mod L: a covers [ra, ra+a.cols), b [rb, rb+b.cols), circularly.
  const int64_t ra = a.begin() % L, rb = b.begin() % L;
  const bool hit = (rb - ra + L) % L < a.cols || (ra - rb + L) % L < b.cols;
  return hit;
}

void expect_disjoint(const Mat& out, const Mat& in, const char* out_name, const char* in_name) {
  IMIX_CHECK(!overlaps(out, in), Value,
             std::string(out_name) + " and " + in_name + " overlap in memory; this operation is out of place");
}

bool optional_flag(const Args& a, size_t i, const char* name, bool dflt) { return a.boolean_or(i, name, dflt); }
double optional_number(const Args& a, size_t i, const char* name, double dflt) {
  return a.present(i) ? a.number(i, name) : dflt;
}

// gemm(A, B, C, transA = false, transB = false, alpha = 1, beta = 0)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* tA = a.tensor(0, "A");
  Tensor* tB = a.tensor(1, "B");
  Tensor* tC = a.tensor(2, "C");
  const bool transA = optional_flag(a, 3, "transA", false);
  const bool transB = optional_flag(a, 4, "transB", false);
  const double alpha = optional_number(a, 5, "alpha", 1.0);
  const double beta = optional_number(a, 6, "beta", 0.0);
  const Mat A = mat2d(tA, "A"), B = mat2d(tB, "B"), C = mat2d(tC, "C");
  expect_same_device({{tB, "B"}, {tC, "C"}}, tA, "A");
  const Dispatch dev(tA, "A");
  const int64_t M = transA ? A.cols : A.rows, K = transA ? A.rows : A.cols;
  const int64_t KB = transB ? B.cols : B.rows, N = transB ? B.rows : B.cols;
  IMIX_CHECK(KB == K, Shape,
             std::string("B: op(B) has ") + S(KB) + " rows but op(A) has " + S(K) + " columns (A " +
                 tA->shape_str() + (transA ? " transposed" : "") + ", B " + tB->shape_str() +
                 (transB ? " transposed" : "") + ")");
  IMIX_CHECK(C.rows == M && C.cols == N, Shape,
             "C: expected shape [" + S(M) + ", " + S(N) + "], got " + tC->shape_str());
  IMIX_CHECK(std::fabs(alpha) <= FLT_MAX, Value, "alpha: " + std::to_string(alpha) + " does not fit in float32");
  IMIX_CHECK(std::fabs(beta) <= FLT_MAX, Value, "beta: " + std::to_string(beta) + " does not fit in float32");
  expect_disjoint(C, A, "C", "A");
  expect_disjoint(C, B, "C", "B");
  IMIX_KERNEL(dev, gemm, transA, transB, M, N, K, (float)alpha, A.p, A.ld, B.p, B.ld, (float)beta, C.p, C.ld);
  return info.Env().Undefined();
}

// Checks the tensors of a linear layer: x [N, in], W [out, in]; returns N, in, out.
struct LinearDims {
  int64_t N, in, out;
};
LinearDims linear_dims(Tensor* x, Tensor* W) {
  expect_ndim(x, 2, "x");
  expect_ndim(W, 2, "W");
  IMIX_CHECK(W->shape[1] == x->shape[1], Shape,
             "W: expected shape [*, " + S(x->shape[1]) + "] (in features of x " + x->shape_str() + "), got " +
                 W->shape_str());
  // BLAS and cuBLAS take int dimensions, as gemm's operands (mat2d) do.
  IMIX_CHECK(x->shape[0] <= INT_MAX && x->shape[1] <= INT_MAX && W->shape[0] <= INT_MAX, Shape,
             "x: dimensions must be below 2^31, got x " + x->shape_str() + " and W " + W->shape_str());
  return {x->shape[0], x->shape[1], W->shape[0]};
}

// linearForward(x, W, b | null, y): y = x·Wᵀ + b
Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* W = a.tensor(1, "W");
  Tensor* b = a.optional_tensor(2, "b");
  Tensor* y = a.tensor(3, "y");
  const float* xp = f32(x, "x");
  const float* Wp = f32(W, "W");
  const float* bp = b ? f32(b, "b") : nullptr;
  float* yp = f32(y, "y");
  const LinearDims d = linear_dims(x, W);
  if (b) expect_shape(b, {d.out}, "b");
  expect_shape(y, {d.N, d.out}, "y");
  expect_same_device({{W, "W"}, {b, "b"}, {y, "y"}}, x, "x");
  const Dispatch dev(x, "x");
  expect_no_alias(y, "y", {{x, "x"}, {W, "W"}, {b, "b"}});
  IMIX_KERNEL(dev, linear_forward, xp, Wp, bp, yp, d.N, d.in, d.out);
  return info.Env().Undefined();
}

// linearBackward(x, W, dy, dx | null, dW, db | null, accumulate)
Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* W = a.tensor(1, "W");
  Tensor* dy = a.tensor(2, "dy");
  Tensor* dx = a.optional_tensor(3, "dx");
  Tensor* dW = a.tensor(4, "dW");
  Tensor* db = a.optional_tensor(5, "db");
  const bool accumulate = a.boolean_or(6, "accumulate", false);
  const float* xp = f32(x, "x");
  const float* Wp = f32(W, "W");
  const float* dyp = f32(dy, "dy");
  float* dxp = dx ? f32(dx, "dx") : nullptr;
  float* dWp = f32(dW, "dW");
  float* dbp = db ? f32(db, "db") : nullptr;
  const LinearDims d = linear_dims(x, W);
  expect_shape(dy, {d.N, d.out}, "dy");
  if (dx) expect_shape(dx, {d.N, d.in}, "dx");
  expect_shape(dW, {d.out, d.in}, "dW");
  if (db) expect_shape(db, {d.out}, "db");
  expect_same_device({{W, "W"}, {dy, "dy"}, {dx, "dx"}, {dW, "dW"}, {db, "db"}}, x, "x");
  const Dispatch dev(x, "x");
  // Outputs must not overlap the inputs or each other.
  expect_no_alias(dx, "dx", {{x, "x"}, {W, "W"}, {dy, "dy"}, {dW, "dW"}, {db, "db"}});
  expect_no_alias(dW, "dW", {{x, "x"}, {W, "W"}, {dy, "dy"}, {db, "db"}});
  expect_no_alias(db, "db", {{x, "x"}, {W, "W"}, {dy, "dy"}});
  IMIX_KERNEL(dev, linear_backward, xp, Wp, dyp, dxp, dWp, dbp, d.N, d.in, d.out, accumulate);
  return info.Env().Undefined();
}

// biasAdd(y, b): y[i, c] += b[c]
Napi::Value BiasAdd(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* y = a.tensor(0, "y");
  Tensor* b = a.tensor(1, "b");
  float* yp = f32(y, "y");
  const float* bp = f32(b, "b");
  expect_ndim(y, 2, "y");
  expect_shape(b, {y->shape[1]}, "b");
  expect_same_device(b, y, "b", "y");
  const Dispatch dev(y, "y");
  expect_no_alias(y, b, "y", "b");
  IMIX_KERNEL(dev, bias_add, yp, bp, y->shape[0], y->shape[1]);
  return info.Env().Undefined();
}

// biasGrad(dy, db, accumulate): db[c] (+)= Σ_i dy[i, c]
Napi::Value BiasGrad(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* dy = a.tensor(0, "dy");
  Tensor* db = a.tensor(1, "db");
  const bool accumulate = a.boolean_or(2, "accumulate", false);
  const float* dyp = f32(dy, "dy");
  float* dbp = f32(db, "db");
  expect_ndim(dy, 2, "dy");
  expect_shape(db, {dy->shape[1]}, "db");
  expect_same_device(db, dy, "db", "dy");
  const Dispatch dev(dy, "dy");
  expect_no_alias(db, dy, "db", "dy");
  IMIX_KERNEL(dev, bias_grad, dyp, dbp, dy->shape[0], dy->shape[1], accumulate);
  return info.Env().Undefined();
}

// reluForward(x, y): y = max(x, 0); y may be x itself.
Napi::Value ReluForward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* y = a.tensor(1, "y");
  const float* xp = f32(x, "x");
  float* yp = f32(y, "y");
  expect_shape(y, x->shape, "y");
  expect_same_device(y, x, "y", "x");
  const Dispatch dev(x, "x");
  expect_same_or_no_alias(y, x, "y", "x");
  IMIX_KERNEL(dev, relu_forward, xp, yp, x->numel());
  return info.Env().Undefined();
}

// reluBackward(dy, y, dx): dx = dy·[y > 0]; dx may be dy itself.
Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* dy = a.tensor(0, "dy");
  Tensor* y = a.tensor(1, "y");
  Tensor* dx = a.tensor(2, "dx");
  const float* dyp = f32(dy, "dy");
  const float* yp = f32(y, "y");
  float* dxp = f32(dx, "dx");
  expect_shape(y, dy->shape, "y");
  expect_shape(dx, dy->shape, "dx");
  expect_same_device({{y, "y"}, {dx, "dx"}}, dy, "dy");
  const Dispatch dev(dy, "dy");
  expect_same_or_no_alias(dx, dy, "dx", "dy");
  expect_no_alias(dx, y, "dx", "y");
  IMIX_KERNEL(dev, relu_backward, dyp, yp, dxp, dy->numel());
  return info.Env().Undefined();
}

}  // namespace

void register_gemm_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "gemm", Gemm);
  bind(env, exports, "linearForward", LinearForward);
  bind(env, exports, "linearBackward", LinearBackward);
  bind(env, exports, "biasAdd", BiasAdd);
  bind(env, exports, "biasGrad", BiasGrad);
  bind(env, exports, "reluForward", ReluForward);
  bind(env, exports, "reluBackward", ReluBackward);
}

}  // namespace imix
