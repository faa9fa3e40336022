// Bindings for BatchNorm1d on x[N, C]:
//   batchnorm1dForwardTrain(x, y, gamma|null, beta|null, eps, momentum,
//                           runningMean|null, runningVar|null, saveMean, saveInvstd)
//   batchnorm1dForwardEval(x, y, gamma|null, beta|null, runningMean, runningVar, eps)
//   batchnorm1dBackward(dy, x, gamma|null, saveMean, saveInvstd, dx,
//                       dgamma|null, dbeta|null, accumulate)
// Every per-feature tensor is float32 [C]; outputs must not overlap inputs.
#include <string>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

double positive_eps(const Args& a, size_t i) {
  double eps = a.number(i, "eps");
  IMIX_CHECK(eps > 0.0, Value, "eps: expected a positive number, got " + std::to_string(eps));
  return eps;
}

// The operands both forward passes share: x [N, C], y [N, C] on x's device,
// and the optional per-feature gamma/beta.
struct ForwardOperands {
  const float* x;
  float* y;
  int64_t N, C;
  const float* gamma;
  const float* beta;
};
ForwardOperands forward_operands(Tensor* x, Tensor* y, Tensor* gamma, Tensor* beta) {
  ForwardOperands f;
  f.x = f32(x, "x");
  expect_ndim(x, 2, "x");
  f.N = x->shape[0];
  f.C = x->shape[1];
  f.y = f32_on(y, {f.N, f.C}, x, "y", "x");
  f.gamma = f32_on(gamma, {f.C}, x, "gamma", "x");
  f.beta = f32_on(beta, {f.C}, x, "beta", "x");
  return f;
}

Napi::Value ForwardTrain(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* y = a.tensor(1, "y");
  Tensor* gamma = a.optional_tensor(2, "gamma");
  Tensor* beta = a.optional_tensor(3, "beta");
  double eps = positive_eps(a, 4);
  double momentum = a.number_in(5, "momentum", 0.0, 1.0);
  Tensor* rmean = a.optional_tensor(6, "runningMean");
  Tensor* rvar = a.optional_tensor(7, "runningVar");
  Tensor* smean = a.tensor(8, "saveMean");
  Tensor* sinv = a.tensor(9, "saveInvstd");

  const ForwardOperands f = forward_operands(x, y, gamma, beta);
  const int64_t N = f.N, C = f.C;
  float* rmp = f32_on(rmean, {C}, x, "runningMean", "x");
  float* rvp = f32_on(rvar, {C}, x, "runningVar", "x");
  float* smp = f32_on(smean, {C}, x, "saveMean", "x");
  float* sip = f32_on(sinv, {C}, x, "saveInvstd", "x");
  const Dispatch dev(x, "x");
  IMIX_CHECK(N >= 2, Value,
             "x: expected more than 1 value per channel when training, got input shape " + x->shape_str());
  expect_disjoint({{x, "x", false}, {y, "y", true}, {gamma, "gamma", false}, {beta, "beta", false},
                   {rmean, "runningMean", true}, {rvar, "runningVar", true}, {smean, "saveMean", true},
                   {sinv, "saveInvstd", true}});
  IMIX_KERNEL(dev, batchnorm1d_forward_train, f.x, f.y, N, C, f.gamma, f.beta, (float)eps, (float)momentum, rmp, rvp, smp, sip);
  return info.Env().Undefined();
}

Napi::Value ForwardEval(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* y = a.tensor(1, "y");
  Tensor* gamma = a.optional_tensor(2, "gamma");
  Tensor* beta = a.optional_tensor(3, "beta");
  Tensor* rmean = a.tensor(4, "runningMean");
  Tensor* rvar = a.tensor(5, "runningVar");
  double eps = positive_eps(a, 6);

  const ForwardOperands f = forward_operands(x, y, gamma, beta);
  const int64_t N = f.N, C = f.C;
  const float* rmp = f32_on(rmean, {C}, x, "runningMean", "x");
  const float* rvp = f32_on(rvar, {C}, x, "runningVar", "x");
  const Dispatch dev(x, "x");
  expect_disjoint({{x, "x", false}, {y, "y", true}, {gamma, "gamma", false}, {beta, "beta", false},
                   {rmean, "runningMean", false}, {rvar, "runningVar", false}});
  IMIX_KERNEL(dev, batchnorm1d_forward_eval, f.x, f.y, N, C, f.gamma, f.beta, rmp, rvp, (float)eps);
  return info.Env().Undefined();
}

Napi::Value Backward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* dy = a.tensor(0, "dy");
  Tensor* x = a.tensor(1, "x");
  Tensor* gamma = a.optional_tensor(2, "gamma");
  Tensor* smean = a.tensor(3, "saveMean");
  Tensor* sinv = a.tensor(4, "saveInvstd");
  Tensor* dx = a.tensor(5, "dx");
  Tensor* dgamma = a.optional_tensor(6, "dgamma");
  Tensor* dbeta = a.optional_tensor(7, "dbeta");
  bool accumulate = a.boolean(8, "accumulate");

  const float* xp = f32(x, "x");
  expect_ndim(x, 2, "x");
  const int64_t N = x->shape[0], C = x->shape[1];
  const float* dyp = f32_on(dy, {N, C}, x, "dy", "x");
  float* dxp = f32_on(dx, {N, C}, x, "dx", "x");
  const float* gp = f32_on(gamma, {C}, x, "gamma", "x");
  const float* smp = f32_on(smean, {C}, x, "saveMean", "x");
  const float* sip = f32_on(sinv, {C}, x, "saveInvstd", "x");
  float* dgp = f32_on(dgamma, {C}, x, "dgamma", "x");
  float* dbp = f32_on(dbeta, {C}, x, "dbeta", "x");
  const Dispatch dev(x, "x");
  expect_disjoint({{dy, "dy", false}, {x, "x", false}, {gamma, "gamma", false}, {smean, "saveMean", false},
                   {sinv, "saveInvstd", false}, {dx, "dx", true}, {dgamma, "dgamma", true}, {dbeta, "dbeta", true}});
  IMIX_KERNEL(dev, batchnorm1d_backward, dyp, xp, gp, smp, sip, N, C, dxp, dgp, dbp, accumulate);
  return info.Env().Undefined();
}

}  // namespace

void register_batchnorm_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "batchnorm1dForwardTrain", ForwardTrain);
  bind(env, exports, "batchnorm1dForwardEval", ForwardEval);
  bind(env, exports, "batchnorm1dBackward", Backward);
}

}  // namespace imix
