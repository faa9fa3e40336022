// Bindings for the gemm family:
//   gemm(A, B, C, transA, transB, alpha, beta, precision)
//   linearForward(x, W, b|null, y, precision)
//   linearBackward(x, W, dy, dx|null, dW, db|null, accumulate, precision)
//   biasAdd(y, b), biasGrad(dy, db, accumulate)
//   reluForward(x, y), reluBackward(dy, y, dx)
//   checkPrecision(precision, device)
// precision is 'fp32' (absent: the default) or 'bf16': the products in
// bfloat16 with fp32 accumulation (native/cpu/gemm_bf16.cpp), on a CPU
// whose kernel set has that gemm; elsewhere a DeviceError naming precision.
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

// The arithmetic of a gemm's products.
enum class Precision { F32, BF16 };

Precision parse_precision(const Args& a, size_t i) {
  if (!a.present(i)) return Precision::F32;
  IMIX_CHECK(a.raw(i).IsString(), Argument, "precision: expected 'fp32' or 'bf16'");
  const std::string p = a.raw(i).As<Napi::String>();
  if (p == "fp32") return Precision::F32;
  IMIX_CHECK(p == "bf16", Value, "precision: expected 'fp32' or 'bf16', got '" + p.substr(0, 40) + "'");
  return Precision::BF16;
}

// bf16 needs the CPU and a kernel set that runs gemm_bf16 on it.
void expect_precision_available(Precision p, const Device& d) {
  if (p == Precision::F32) return;
  IMIX_CHECK(d.type == Device::CPU, Device,
             "precision: 'bf16' gemms run on the CPU only (the CUDA backend has none); use 'fp32' on " + d.str());
  const std::string why = cpu::gemm_bf16_missing();
  IMIX_CHECK(why.empty(), Device, "precision: 'bf16' is not available here: " + why + "; use 'fp32'");
}

// Argument i as a precision the device can run.
Precision precision_arg(const Args& a, size_t i, const Dispatch& dev) {
  const Precision p = parse_precision(a, i);
  expect_precision_available(p, dev.dev);
  return p;
}

bool optional_flag(const Args& a, size_t i, const char* name, bool dflt) { return a.boolean_or(i, name, dflt); }
double optional_number(const Args& a, size_t i, const char* name, double dflt) {
  return a.present(i) ? a.number(i, name) : dflt;
}

// gemm(A, B, C, transA = false, transB = false, alpha = 1, beta = 0, precision = 'fp32')
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
  const Precision precision = precision_arg(a, 7, dev);
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
  if (precision == Precision::BF16)
    cpu::gemm_bf16(transA, transB, M, N, K, (float)alpha, A.p, A.ld, B.p, B.ld, (float)beta, C.p, C.ld);
  else
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

// linearForward(x, W, b | null, y, precision = 'fp32'): y = x·Wᵀ + b
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
  const Precision precision = precision_arg(a, 4, dev);
  expect_no_alias(y, "y", {{x, "x"}, {W, "W"}, {b, "b"}});
  if (precision == Precision::BF16)
    cpu::linear_forward_bf16(xp, Wp, bp, yp, d.N, d.in, d.out);
  else
    IMIX_KERNEL(dev, linear_forward, xp, Wp, bp, yp, d.N, d.in, d.out);
  return info.Env().Undefined();
}

// linearBackward(x, W, dy, dx | null, dW, db | null, accumulate, precision = 'fp32')
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
  const Precision precision = precision_arg(a, 7, dev);
  // Outputs must not overlap the inputs or each other.
  expect_no_alias(dx, "dx", {{x, "x"}, {W, "W"}, {dy, "dy"}, {dW, "dW"}, {db, "db"}});
  expect_no_alias(dW, "dW", {{x, "x"}, {W, "W"}, {dy, "dy"}, {db, "db"}});
  expect_no_alias(db, "db", {{x, "x"}, {W, "W"}, {dy, "dy"}});
  if (precision == Precision::BF16)
    cpu::linear_backward_bf16(xp, Wp, dyp, dxp, dWp, dbp, d.N, d.in, d.out, accumulate);
  else
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

// checkPrecision(precision, device = 'cpu'): throws what a gemm at that
// precision on that device would (options are checked before any step).
Napi::Value CheckPrecision(const Napi::CallbackInfo& info) {
  Args a(info);
  const Precision p = parse_precision(a, 0);
  Device d;
  if (a.present(1)) {
    IMIX_CHECK(a.raw(1).IsString(), Argument, "device: expected a string");
    d = parse_device(a.raw(1).As<Napi::String>(), "device");
  }
  expect_precision_available(p, d);
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
  bind(env, exports, "checkPrecision", CheckPrecision);
}

}  // namespace imix
