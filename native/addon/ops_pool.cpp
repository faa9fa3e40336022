// Bindings for pooling (native/cpu/pool.cpp, native/cuda/pool.cu):
//   maxpool2dForward(x, y, argmax, kh, kw, sh, sw, ph, pw)
//   maxpool2dBackward(dy, argmax, dx, kh, kw, sh, sw, ph, pw)
//   avgpoolGlobalForward(x, y)      x [N, C, ...spatial] → y [N, C]
//   avgpoolGlobalBackward(dy, dx)   dy [N, C] → dx [N, C, ...spatial]
// Max-pool: x [N, C, H, W] float32 → y [N, C, Ho, Wo] float32 and argmax
// [N, C, Ho, Wo] int32 (the flat in-plane index of each window's maximum, so
// a plane H·W must stay below 2^31), Ho = ⌊(H + 2·ph − kh)/sh⌋ + 1 (floor
// mode); padding at most half the window (PyTorch's rule, so every window
// holds an input element). The backward takes its geometry from dx and
// checks every argmax entry against the plane (a hostile one would write
// outside dx).
#include <climits>
#include <string>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"
#include "window.h"

namespace imix {
namespace {

struct Window {
  int64_t kh, kw, sh, sw, ph, pw;
};

// kh, kw, sh, sw, ph, pw at arguments i..i+5.
Window read_window(const Args& a, size_t i) {
  Window w;
  w.kh = window_param(a, i, "kernelSize", 1);
  w.kw = window_param(a, i + 1, "kernelSize", 1);
  w.sh = window_param(a, i + 2, "stride", 1);
  w.sw = window_param(a, i + 3, "stride", 1);
  w.ph = window_param(a, i + 4, "padding", 0);
  w.pw = window_param(a, i + 5, "padding", 0);
  IMIX_CHECK(2 * w.ph <= w.kh && 2 * w.pw <= w.kw, Value,
             "padding: " + size_str(2, w.ph, w.pw) + " is more than half the " + size_str(2, w.kh, w.kw) +
                 " window (PyTorch's rule: padding <= kernelSize / 2)");
  return w;
}

// The geometry from the input-shaped operand x [N, C, H, W] (named xn).
PoolGeom pool_geom(const Tensor* x, const char* xn, const Window& w) {
  expect_ndim(x, 4, xn);
  PoolGeom g{};
  g.N = x->shape[0];
  g.C = x->shape[1];
  g.H = x->shape[2];
  g.W = x->shape[3];
  IMIX_CHECK(g.H >= 1 && g.W >= 1, Shape, std::string(xn) + ": expected a non-empty image, got shape " + x->shape_str());
  IMIX_CHECK(g.H * g.W <= INT_MAX, Shape,
             std::string(xn) + ": a plane of " + size_str(2, g.H, g.W) +
                 " has more than 2^31 - 1 elements (argmax is int32)");
  g.kh = w.kh;
  g.kw = w.kw;
  g.sh = w.sh;
  g.sw = w.sw;
  g.ph = w.ph;
  g.pw = w.pw;
  const int64_t Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw;
  IMIX_CHECK(g.kh <= Hp && g.kw <= Wp, Shape,
             "kernelSize: window " + size_str(2, g.kh, g.kw) + " is larger than the padded input " +
                 size_str(2, Hp, Wp));
  g.Ho = (Hp - g.kh) / g.sh + 1;
  g.Wo = (Wp - g.kw) / g.sw + 1;
  return g;
}

// maxpool2dForward(x, y, argmax, kh, kw, sh, sw, ph, pw)
Napi::Value MaxForward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* y = a.tensor(1, "y");
  Tensor* am = a.tensor(2, "argmax");
  const Window w = read_window(a, 3);
  const float* xp = f32(x, "x");
  const PoolGeom g = pool_geom(x, "x", w);
  float* yp = f32(y, {g.N, g.C, g.Ho, g.Wo}, "y");
  int32_t* ap = i32(am, {g.N, g.C, g.Ho, g.Wo}, "argmax");
  expect_same_device({{y, "y"}, {am, "argmax"}}, x, "x");
  const Dispatch dev(x, "x");
  expect_disjoint({{x, "x", false}, {y, "y", true}, {am, "argmax", true}});
  IMIX_KERNEL(dev, maxpool2d_forward, xp, yp, ap, g);
  // Every argmax is an in-image position y·W + x (windows always overlap the
  // image: padding ≤ kernelSize/2), so the backward need not read it back.
  ContentFacts f;
  f.hi = (int32_t)(g.H * g.W - 1);
  am->set_facts(f);
  return info.Env().Undefined();
}

// maxpool2dBackward(dy, argmax, dx, kh, kw, sh, sw, ph, pw)
Napi::Value MaxBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* dy = a.tensor(0, "dy");
  Tensor* am = a.tensor(1, "argmax");
  Tensor* dx = a.tensor(2, "dx");
  const Window w = read_window(a, 3);
  float* dxp = f32(dx, "dx");
  const PoolGeom g = pool_geom(dx, "dx", w);
  const float* dyp = f32(dy, {g.N, g.C, g.Ho, g.Wo}, "dy");
  const int32_t* ap = i32_in(am, {g.N, g.C, g.Ho, g.Wo}, "argmax");
  expect_same_device({{dy, "dy"}, {am, "argmax"}}, dx, "dx");
  const Dispatch dev(dx, "dx");
  expect_disjoint({{dy, "dy", false}, {am, "argmax", false}, {dx, "dx", true}});
  check_indices(am, am->numel(), 0, g.H * g.W, "argmax");
  IMIX_KERNEL(dev, maxpool2d_backward, dyp, ap, dxp, g);
  return info.Env().Undefined();
}

// [N, C, ...spatial] with at least one spatial axis, none empty: returns
// N·C planes and S = Π spatial.
void global_dims(const Tensor* x, const char* xn, int64_t* P, int64_t* S) {
  IMIX_CHECK(x->ndim() >= 3, Shape,
             std::string(xn) + ": expected [N, C, ...spatial] (at least 3 dimensions), got shape " + x->shape_str());
  int64_t s = 1;
  for (int64_t d = 2; d < x->ndim(); ++d) {
    IMIX_CHECK(x->shape[d] >= 1, Shape,
               std::string(xn) + ": expected non-empty spatial dimensions, got shape " + x->shape_str());
    s *= x->shape[d];  // ≤ numel < 2^40
  }
  *P = x->shape[0] * x->shape[1];
  *S = s;
}

// avgpoolGlobalForward(x, y)
Napi::Value AvgForward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* y = a.tensor(1, "y");
  const float* xp = f32(x, "x");
  int64_t P, Sp;
  global_dims(x, "x", &P, &Sp);
  float* yp = f32(y, {x->shape[0], x->shape[1]}, "y");
  expect_same_device(y, x, "y", "x");
  const Dispatch dev(x, "x");
  expect_disjoint({{x, "x", false}, {y, "y", true}});
  IMIX_KERNEL(dev, avgpool_global_forward, xp, yp, P, Sp);
  return info.Env().Undefined();
}

// avgpoolGlobalBackward(dy, dx)
Napi::Value AvgBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* dy = a.tensor(0, "dy");
  Tensor* dx = a.tensor(1, "dx");
  float* dxp = f32(dx, "dx");
  int64_t P, Sp;
  global_dims(dx, "dx", &P, &Sp);
  const float* dyp = f32(dy, {dx->shape[0], dx->shape[1]}, "dy");
  expect_same_device(dy, dx, "dy", "dx");
  const Dispatch dev(dx, "dx");
  expect_disjoint({{dy, "dy", false}, {dx, "dx", true}});
  IMIX_KERNEL(dev, avgpool_global_backward, dyp, dxp, P, Sp);
  return info.Env().Undefined();
}

}  // namespace

void register_pool_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "maxpool2dForward", MaxForward);
  bind(env, exports, "maxpool2dBackward", MaxBackward);
  bind(env, exports, "avgpoolGlobalForward", AvgForward);
  bind(env, exports, "avgpoolGlobalBackward", AvgBackward);
}

}  // namespace imix
