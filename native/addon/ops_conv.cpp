// Bindings for the convolution family (native/cpu/conv.cpp, native/cuda/conv.cu):
//   conv2dWorkspaceFloats(x, w, sh, sw, ph, pw, dh, dw) → number
//   conv2dForward(x, w, b|null, y, ws|null, sh, sw, ph, pw, dh, dw)
//   conv2dBackwardData(dy, w, dx, ws|null, sh, sw, ph, pw, dh, dw)
//   conv2dBackwardWeight(dy, x, dw, db|null, ws|null, sh, sw, ph, pw, dh, dw, accumulate)
//   conv1dWorkspaceFloats(x, w, s, p, d) → number
//   conv1dForward(x, w, b|null, y, ws|null, s, p, d)
//   conv1dBackwardData(dy, w, dx, ws|null, s, p, d)
//   conv1dBackwardWeight(dy, x, dw, db|null, ws|null, s, p, d, accumulate)
// NCHW / NCL float32, contiguous; weights in PyTorch's layout [K, C, kh, kw] /
// [K, C, k]. A conv1d is the ConvGeom with H = 1, kh = 1, sh = 1, ph = 0, dh = 1.
// The geometry comes from x (or dx) and w (or dw); y/dy must be exactly
// [N, K, Ho, Wo] with Ho = ⌊(H + 2·ph − dh·(kh−1) − 1)/sh⌋ + 1 (Wo likewise).
// ws is the caller's scratch memory: float32 on x's device, at least
// conv*WorkspaceFloats(...) elements (null only when that is 0); it is
// written, so it must not overlap any other operand.
//
// Bounds (so no size overflows, and BLAS's int dimensions hold): window
// parameters below 2^31 (window.h); K, C·kh·kw and Ho·Wo below 2^31; one
// sample's unrolled input C·kh·kw·Ho·Wo at most 2^32 floats.
#include <climits>
#include <string>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"
#include "window.h"

namespace imix {
namespace {

std::string S(int64_t v) { return std::to_string(v); }

constexpr int64_t kMaxUnrolled = int64_t(1) << 32;

// Stride, padding and dilation along H and W (1, 0, 1 along H for conv1d).
struct Hyper {
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
};

// The 2-d hyper-parameters at arguments i..i+5: sh, sw, ph, pw, dh, dw.
Hyper hyper2d(const Args& a, size_t i) {
  Hyper h;
  h.sh = window_param(a, i, "stride", 1);
  h.sw = window_param(a, i + 1, "stride", 1);
  h.ph = window_param(a, i + 2, "padding", 0);
  h.pw = window_param(a, i + 3, "padding", 0);
  h.dh = window_param(a, i + 4, "dilation", 1);
  h.dw = window_param(a, i + 5, "dilation", 1);
  return h;
}
// The 1-d ones at arguments i..i+2: s, p, d.
Hyper hyper1d(const Args& a, size_t i) {
  Hyper h;
  h.sw = window_param(a, i, "stride", 1);
  h.pw = window_param(a, i + 1, "padding", 0);
  h.dw = window_param(a, i + 2, "dilation", 1);
  return h;
}

// The dilated extent d·(k−1)+1 of a kernel of k taps, or −1 when it does not
// fit int64 (k < 2^40 and d < 2^31: only a hostile k·d can overflow).
int64_t dilated(int64_t k, int64_t d) {
  int64_t r;
  if (!mul_fits(k - 1, d, &r) || !add_fits(r, 1, &r)) return -1;
  return r;
}
std::string dilated_str(int64_t e) { return e < 0 ? std::string("more than 2^63") : S(e); }

// The geometry of a convolution of `dims` spatial axes from the input-shaped
// operand x ([N, C, H, W] or [N, C, L]) and the weight-shaped one w, both
// already checked for dtype and contiguity; the names are the caller's.
ConvGeom conv_geom(const Tensor* x, const char* xn, const Tensor* w, const char* wn, int dims, const Hyper& h) {
  expect_ndim(x, dims + 2, xn);
  const std::string want = dims == 2 ? "[K, C, kh, kw]" : "[K, C, k]";
  IMIX_CHECK(w->ndim() == dims + 2, Shape,
             std::string(wn) + ": expected " + S(dims + 2) + " dimensions " + want + ", got shape " + w->shape_str());
  ConvGeom g{};
  g.N = x->shape[0];
  g.C = x->shape[1];
  g.H = dims == 2 ? x->shape[2] : 1;
  g.W = x->shape[dims + 1];
  IMIX_CHECK(g.C >= 1 && g.H >= 1 && g.W >= 1, Shape,
             std::string(xn) + ": expected at least one channel and a non-empty " + (dims == 2 ? "image" : "signal") +
                 ", got shape " + x->shape_str());
  g.K = w->shape[0];
  g.kh = dims == 2 ? w->shape[2] : 1;
  g.kw = w->shape[dims + 1];
  IMIX_CHECK(w->shape[1] == g.C, Shape,
             std::string(wn) + ": expected " + want + " with C = " + S(g.C) + " (" + xn + "'s channels), got " +
                 w->shape_str());
  IMIX_CHECK(g.kh >= 1 && g.kw >= 1, Shape, std::string(wn) + ": expected a non-empty kernel, got " + w->shape_str());
  g.sh = h.sh;
  g.sw = h.sw;
  g.ph = h.ph;
  g.pw = h.pw;
  g.dh = h.dh;
  g.dw = h.dw;
  // Padded input and dilated kernel (H, W < 2^40 and padding < 2^31: no overflow).
  const int64_t Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw;
  const int64_t eh = dilated(g.kh, g.dh), ew = dilated(g.kw, g.dw);
  IMIX_CHECK(eh >= 0 && ew >= 0 && eh <= Hp && ew <= Wp, Shape,
             std::string(wn) + ": kernel " + size_str(dims, g.kh, g.kw) + " (dilated " +
                 (dims == 2 ? dilated_str(eh) + "×" : std::string()) + dilated_str(ew) +
                 ") is larger than the padded input " + size_str(dims, Hp, Wp));
  g.Ho = (Hp - eh) / g.sh + 1;
  g.Wo = (Wp - ew) / g.sw + 1;
  // BLAS takes int dimensions: K, C·kh·kw and Ho·Wo below 2^31 (numel < 2^40: the products fit).
  IMIX_CHECK(g.K <= INT_MAX, Shape, std::string(wn) + ": more than 2^31 - 1 output channels, got " + w->shape_str());
  const int64_t R = g.C * g.kh * g.kw;
  IMIX_CHECK(R <= INT_MAX, Shape,
             std::string(wn) + ": C·kh·kw = " + S(R) + " is more than 2^31 - 1 (shape " + w->shape_str() + ")");
  int64_t P;
  IMIX_CHECK(mul_fits(g.Ho, g.Wo, &P) && P <= INT_MAX, Shape,
             std::string(xn) + ": the output plane " + size_str(dims, g.Ho, g.Wo) + " has more than 2^31 - 1 positions");
  int64_t unrolled;
  IMIX_CHECK(mul_fits(R, P, &unrolled) && unrolled <= kMaxUnrolled, Shape,
             std::string(xn) + ": one sample's unrolled input (C·kh·kw × output positions = " + S(R) + " × " + S(P) +
                 ") is more than 2^32 floats");
  return g;
}

// The output-shaped operand's shape [N, K, Ho, Wo] (or [N, K, Lo]).
std::vector<int64_t> out_shape(const ConvGeom& g, int dims) {
  if (dims == 2) return {g.N, g.K, g.Ho, g.Wo};
  return {g.N, g.K, g.Wo};
}

// The workspace operand: null only when `need` is 0; otherwise float32,
// contiguous, on ref's device, with at least `need` elements.
float* workspace(Tensor* ws, int64_t need, const Tensor* ref, const char* refname) {
  if (!ws) {
    IMIX_CHECK(need == 0, Argument, "ws: expected at least " + S(need) + " float32 elements, got null");
    return nullptr;
  }
  float* p = f32(ws, "ws");
  expect_same_device(ws, ref, "ws", refname);
  IMIX_CHECK(ws->numel() >= need, Shape,
             "ws: expected at least " + S(need) + " float32 elements, got shape " + ws->shape_str());
  return p;
}

// conv{1,2}dWorkspaceFloats(x, w, hyper...)
Napi::Value WorkspaceFloats(const Napi::CallbackInfo& info, int dims) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* w = a.tensor(1, "w");
  const Hyper h = dims == 2 ? hyper2d(a, 2) : hyper1d(a, 2);
  f32(x, "x");
  f32(w, "w");
  const ConvGeom g = conv_geom(x, "x", w, "w", dims, h);
  expect_same_device(w, x, "w", "x");
  const Dispatch dev(x, "x");
  return Napi::Number::New(info.Env(), (double)IMIX_KERNEL(dev, conv2d_workspace_floats, g));
}

// conv{1,2}dForward(x, w, b|null, y, ws|null, hyper...)
Napi::Value Forward(const Napi::CallbackInfo& info, int dims) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* w = a.tensor(1, "w");
  Tensor* b = a.optional_tensor(2, "b");
  Tensor* y = a.tensor(3, "y");
  Tensor* ws = a.optional_tensor(4, "ws");
  const Hyper h = dims == 2 ? hyper2d(a, 5) : hyper1d(a, 5);
  const float* xp = f32(x, "x");
  const float* wp = f32(w, "w");
  const ConvGeom g = conv_geom(x, "x", w, "w", dims, h);
  const float* bp = f32_opt(b, {g.K}, "b");
  float* yp = f32(y, out_shape(g, dims), "y");
  expect_same_device({{w, "w"}, {b, "b"}, {y, "y"}}, x, "x");
  const Dispatch dev(x, "x");
  float* wsp = workspace(ws, IMIX_KERNEL(dev, conv2d_workspace_floats, g), x, "x");
  expect_disjoint({{x, "x", false}, {w, "w", false}, {b, "b", false}, {y, "y", true}, {ws, "ws", true}});
  IMIX_KERNEL(dev, conv2d_forward, xp, wp, bp, yp, g, wsp);
  return info.Env().Undefined();
}

// conv{1,2}dBackwardData(dy, w, dx, ws|null, hyper...)
Napi::Value BackwardData(const Napi::CallbackInfo& info, int dims) {
  Args a(info);
  Tensor* dy = a.tensor(0, "dy");
  Tensor* w = a.tensor(1, "w");
  Tensor* dx = a.tensor(2, "dx");
  Tensor* ws = a.optional_tensor(3, "ws");
  const Hyper h = dims == 2 ? hyper2d(a, 4) : hyper1d(a, 4);
  float* dxp = f32(dx, "dx");
  const float* wp = f32(w, "w");
  const ConvGeom g = conv_geom(dx, "dx", w, "w", dims, h);
  const float* dyp = f32(dy, out_shape(g, dims), "dy");
  expect_same_device({{dy, "dy"}, {w, "w"}}, dx, "dx");
  const Dispatch dev(dx, "dx");
  float* wsp = workspace(ws, IMIX_KERNEL(dev, conv2d_workspace_floats, g), dx, "dx");
  expect_disjoint({{dy, "dy", false}, {w, "w", false}, {dx, "dx", true}, {ws, "ws", true}});
  IMIX_KERNEL(dev, conv2d_backward_data, dyp, wp, dxp, g, wsp);
  return info.Env().Undefined();
}

// conv{1,2}dBackwardWeight(dy, x, dw, db|null, ws|null, hyper..., accumulate)
Napi::Value BackwardWeight(const Napi::CallbackInfo& info, int dims) {
  Args a(info);
  Tensor* dy = a.tensor(0, "dy");
  Tensor* x = a.tensor(1, "x");
  Tensor* dw = a.tensor(2, "dw");
  Tensor* db = a.optional_tensor(3, "db");
  Tensor* ws = a.optional_tensor(4, "ws");
  const Hyper h = dims == 2 ? hyper2d(a, 5) : hyper1d(a, 5);
  const bool accumulate = a.boolean(dims == 2 ? 11 : 8, "accumulate");
  const float* xp = f32(x, "x");
  float* dwp = f32(dw, "dw");
  const ConvGeom g = conv_geom(x, "x", dw, "dw", dims, h);
  const float* dyp = f32(dy, out_shape(g, dims), "dy");
  float* dbp = f32_opt(db, {g.K}, "db");
  expect_same_device({{dy, "dy"}, {dw, "dw"}, {db, "db"}}, x, "x");
  const Dispatch dev(x, "x");
  float* wsp = workspace(ws, IMIX_KERNEL(dev, conv2d_workspace_floats, g), x, "x");
  expect_disjoint(
      {{dy, "dy", false}, {x, "x", false}, {dw, "dw", true}, {db, "db", true}, {ws, "ws", true}});
  IMIX_KERNEL(dev, conv2d_backward_weight, dyp, xp, dwp, dbp, g, wsp, accumulate);
  return info.Env().Undefined();
}

Napi::Value Conv2dWorkspaceFloats(const Napi::CallbackInfo& info) { return WorkspaceFloats(info, 2); }
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) { return Forward(info, 2); }
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) { return BackwardData(info, 2); }
Napi::Value Conv2dBackwardWeight(const Napi::CallbackInfo& info) { return BackwardWeight(info, 2); }
Napi::Value Conv1dWorkspaceFloats(const Napi::CallbackInfo& info) { return WorkspaceFloats(info, 1); }
Napi::Value Conv1dForward(const Napi::CallbackInfo& info) { return Forward(info, 1); }
Napi::Value Conv1dBackwardData(const Napi::CallbackInfo& info) { return BackwardData(info, 1); }
Napi::Value Conv1dBackwardWeight(const Napi::CallbackInfo& info) { return BackwardWeight(info, 1); }

}  // namespace

void register_conv_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "conv2dWorkspaceFloats", Conv2dWorkspaceFloats);
  bind(env, exports, "conv2dForward", Conv2dForward);
  bind(env, exports, "conv2dBackwardData", Conv2dBackwardData);
  bind(env, exports, "conv2dBackwardWeight", Conv2dBackwardWeight);
  bind(env, exports, "conv1dWorkspaceFloats", Conv1dWorkspaceFloats);
  bind(env, exports, "conv1dForward", Conv1dForward);
  bind(env, exports, "conv1dBackwardData", Conv1dBackwardData);
  bind(env, exports, "conv1dBackwardWeight", Conv1dBackwardWeight);
}

}  // namespace imix
