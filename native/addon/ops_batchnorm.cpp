// Bindings for BatchNorm1d on x[N, C]:
//   batchnorm1dForwardTrain(x, y, gamma|null, beta|null, eps, momentum,
//                           runningMean|null, runningVar|null, saveMean, saveInvstd)
//   batchnorm1dForwardEval(x, y, gamma|null, beta|null, runningMean, runningVar, eps)
//   batchnorm1dBackward(dy, x, gamma|null, saveMean, saveInvstd, dx,
//                       dgamma|null, dbeta|null, accumulate)
// and BatchNorm2d on x[N, C, S] (x is [N, C, L] or [N, C, H, W]; S = L or H·W),
// with the ReLU that follows fused in when relu is true:
//   batchnorm2dForwardTrain(x, y, gamma|null, beta|null, eps, momentum,
//                           runningMean|null, runningVar|null, saveMean, saveInvstd, relu)
//   batchnorm2dForwardEval(x, y, gamma|null, beta|null, runningMean, runningVar, eps, relu)
//   batchnorm2dBackward(dy, x, y|null, gamma|null, saveMean, saveInvstd, dx,
//                       dgamma|null, dbeta|null, accumulate)
// (y in the backward: the fused forward's output, whose sign masks dy.)
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

// ---- BatchNorm2d ----------------------------------------------------------

// x [N, C, L] or [N, C, H, W]: N, C and S = L or H·W (< 2^40: numel is).
struct ChannelDims {
  int64_t N, C, S;
};
ChannelDims channel_dims(const Tensor* x, const char* name) {
  IMIX_CHECK(x->ndim() == 3 || x->ndim() == 4, Shape,
             std::string(name) + ": expected 3 or 4 dimensions ([N, C, L] or [N, C, H, W]), got shape " +
                 x->shape_str());
  int64_t S = 1;
  for (int64_t d = 2; d < x->ndim(); ++d) S *= x->shape[d];
  return {x->shape[0], x->shape[1], S};
}

Napi::Value ForwardTrain2d(const Napi::CallbackInfo& info) {
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
  const bool relu = a.boolean(10, "relu");

  const float* xp = f32(x, "x");
  const ChannelDims d = channel_dims(x, "x");
  const int64_t C = d.C;
  float* yp = f32_on(y, x->shape, x, "y", "x");
  const float* gp = f32_on(gamma, {C}, x, "gamma", "x");
  const float* bp = f32_on(beta, {C}, x, "beta", "x");
  float* rmp = f32_on(rmean, {C}, x, "runningMean", "x");
  float* rvp = f32_on(rvar, {C}, x, "runningVar", "x");
  float* smp = f32_on(smean, {C}, x, "saveMean", "x");
  float* sip = f32_on(sinv, {C}, x, "saveInvstd", "x");
  const Dispatch dev(x, "x");
  IMIX_CHECK(d.N * d.S >= 2, Value,
             "x: expected more than 1 value per channel when training, got input shape " + x->shape_str());
  expect_disjoint({{x, "x", false}, {y, "y", true}, {gamma, "gamma", false}, {beta, "beta", false},
                   {rmean, "runningMean", true}, {rvar, "runningVar", true}, {smean, "saveMean", true},
                   {sinv, "saveInvstd", true}});
  IMIX_KERNEL(dev, batchnorm2d_forward_train, xp, yp, d.N, C, d.S, gp, bp, (float)eps, (float)momentum, rmp, rvp,
              smp, sip, relu);
  return info.Env().Undefined();
}

Napi::Value ForwardEval2d(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* y = a.tensor(1, "y");
  Tensor* gamma = a.optional_tensor(2, "gamma");
  Tensor* beta = a.optional_tensor(3, "beta");
  Tensor* rmean = a.tensor(4, "runningMean");
  Tensor* rvar = a.tensor(5, "runningVar");
  double eps = positive_eps(a, 6);
  const bool relu = a.boolean(7, "relu");

  const float* xp = f32(x, "x");
  const ChannelDims d = channel_dims(x, "x");
  const int64_t C = d.C;
  float* yp = f32_on(y, x->shape, x, "y", "x");
  const float* gp = f32_on(gamma, {C}, x, "gamma", "x");
  const float* bp = f32_on(beta, {C}, x, "beta", "x");
  const float* rmp = f32_on(rmean, {C}, x, "runningMean", "x");
  const float* rvp = f32_on(rvar, {C}, x, "runningVar", "x");
  const Dispatch dev(x, "x");
  expect_disjoint({{x, "x", false}, {y, "y", true}, {gamma, "gamma", false}, {beta, "beta", false},
                   {rmean, "runningMean", false}, {rvar, "runningVar", false}});
  IMIX_KERNEL(dev, batchnorm2d_forward_eval, xp, yp, d.N, C, d.S, gp, bp, rmp, rvp, (float)eps, relu);
  return info.Env().Undefined();
}

Napi::Value Backward2d(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* dy = a.tensor(0, "dy");
  Tensor* x = a.tensor(1, "x");
  Tensor* y = a.optional_tensor(2, "y");
  Tensor* gamma = a.optional_tensor(3, "gamma");
  Tensor* smean = a.tensor(4, "saveMean");
  Tensor* sinv = a.tensor(5, "saveInvstd");
  Tensor* dx = a.tensor(6, "dx");
  Tensor* dgamma = a.optional_tensor(7, "dgamma");
  Tensor* dbeta = a.optional_tensor(8, "dbeta");
  bool accumulate = a.boolean(9, "accumulate");

  const float* xp = f32(x, "x");
  const ChannelDims d = channel_dims(x, "x");
  const int64_t C = d.C;
  const float* dyp = f32_on(dy, x->shape, x, "dy", "x");
  const float* yp = f32_on(y, x->shape, x, "y", "x");
  const float* gp = f32_on(gamma, {C}, x, "gamma", "x");
  const float* smp = f32_on(smean, {C}, x, "saveMean", "x");
  const float* sip = f32_on(sinv, {C}, x, "saveInvstd", "x");
  float* dxp = f32_on(dx, x->shape, x, "dx", "x");
  float* dgp = f32_on(dgamma, {C}, x, "dgamma", "x");
  float* dbp = f32_on(dbeta, {C}, x, "dbeta", "x");
  const Dispatch dev(x, "x");
  expect_disjoint({{dy, "dy", false}, {x, "x", false}, {y, "y", false}, {gamma, "gamma", false},
                   {smean, "saveMean", false}, {sinv, "saveInvstd", false}, {dx, "dx", true},
                   {dgamma, "dgamma", true}, {dbeta, "dbeta", true}});
  IMIX_KERNEL(dev, batchnorm2d_backward, dyp, xp, yp, gp, smp, sip, d.N, C, d.S, dxp, dgp, dbp, accumulate);
  return info.Env().Undefined();
}

}  // namespace

void register_batchnorm_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "batchnorm1dForwardTrain", ForwardTrain);
  bind(env, exports, "batchnorm1dForwardEval", ForwardEval);
  bind(env, exports, "batchnorm1dBackward", Backward);
  bind(env, exports, "batchnorm2dForwardTrain", ForwardTrain2d);
  bind(env, exports, "batchnorm2dForwardEval", ForwardEval2d);
  bind(env, exports, "batchnorm2dBackward", Backward2d);
}

}  // namespace imix
