// Bindings for the optimizer steps over flat buffers:
//   sgdStep(param, grad, buf|null, lr, momentum, weightDecay, nesterov, segOffsets|null, segFlags|null)
//   larsStep(param, grad, buf, lr, momentum, weightDecay, eta, nesterov, segOffsets|null, segFlags|null)
//   adamwStep(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, segOffsets|null, segFlags|null)
// Segments come from JS as plain typed arrays (host data, read here):
//   segOffsets: Int32Array or Float64Array of nseg+1 element offsets, first 0,
//               non-decreasing, last == param.numel (empty segments allowed);
//   segFlags:   Uint8Array of nseg flag bytes (bits: 1 weight decay, 2 LARS adaptation).
// Both null: one segment with every flag on. param, grad and the state buffers
// are float32 contiguous tensors of the same element count (any shape) that
// must not overlap one another.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

constexpr uint8_t kAllFlags = cpu::kWeightDecay | cpu::kLarsAdapt;

struct Segs {
  const int64_t* offsets = nullptr;
  const uint8_t* flags = nullptr;
  int64_t nseg = 0;
};

// Reads and validates (segOffsets, segFlags) at argument positions io, io+1.
// The int64 copy of the offsets lives in a per-thread vector reused across calls.
Segs read_segments(const Args& a, size_t io, int64_t numel) {
  const size_t iflags = io + 1;
  const bool has_off = a.present(io), has_flags = a.present(iflags);
  if (!has_off && !has_flags) return {};
  IMIX_CHECK(has_off, Argument, "segOffsets: required when segFlags is given");
  IMIX_CHECK(has_flags, Argument, "segFlags: required when segOffsets is given");

  Napi::Value ov = a.raw(io);
  IMIX_CHECK(ov.IsTypedArray(), Argument, "segOffsets: expected an Int32Array or Float64Array");
  Napi::TypedArray ota = ov.As<Napi::TypedArray>();
  const napi_typedarray_type otype = ota.TypedArrayType();
  IMIX_CHECK(otype == napi_int32_array || otype == napi_float64_array, Argument,
             "segOffsets: expected an Int32Array or Float64Array");
  const int64_t len = (int64_t)ota.ElementLength();
  IMIX_CHECK(len >= 2, Value,
             "segOffsets: expected at least 2 offsets (one segment), got " + std::to_string(len));
  const int64_t nseg = len - 1;

  static thread_local std::vector<int64_t> off;
  off.resize((size_t)len);
  if (otype == napi_int32_array) {
    Napi::Int32Array arr = ov.As<Napi::Int32Array>();
    for (int64_t i = 0; i < len; ++i) off[(size_t)i] = arr[(size_t)i];
  } else {
    Napi::Float64Array arr = ov.As<Napi::Float64Array>();
    for (int64_t i = 0; i < len; ++i) {
      double d = arr[(size_t)i];
      IMIX_CHECK(std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0, Value,
                 "segOffsets: entry " + std::to_string(i) + " is " + std::to_string(d) + ", not an integer");
      off[(size_t)i] = (int64_t)d;
    }
  }
  IMIX_CHECK(off[0] == 0, Value, "segOffsets: entry 0 is " + std::to_string(off[0]) + ", expected 0");
  for (int64_t i = 1; i < len; ++i)
    IMIX_CHECK(off[(size_t)i] >= off[(size_t)i - 1], Value,
               "segOffsets: entry " + std::to_string(i) + " (" + std::to_string(off[(size_t)i]) +
                   ") is less than entry " + std::to_string(i - 1) + " (" +
                   std::to_string(off[(size_t)i - 1]) + "); offsets must be non-decreasing");
  IMIX_CHECK(off[(size_t)nseg] == numel, Value,
             "segOffsets: last entry is " + std::to_string(off[(size_t)nseg]) + ", expected param.numel " +
                 std::to_string(numel));

  Napi::Value fv = a.raw(iflags);
  IMIX_CHECK(fv.IsTypedArray() && fv.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array, Argument,
             "segFlags: expected a Uint8Array");
  Napi::Uint8Array flags = fv.As<Napi::Uint8Array>();
  IMIX_CHECK((int64_t)flags.ElementLength() == nseg, Value,
             "segFlags: expected " + std::to_string(nseg) + " flags (one per segment), got " +
                 std::to_string(flags.ElementLength()));
  const uint8_t* fp = flags.Data();
  for (int64_t s = 0; s < nseg; ++s)
    IMIX_CHECK((fp[s] & ~kAllFlags) == 0, Value,
               "segFlags: entry " + std::to_string(s) + " is " + std::to_string((int)fp[s]) +
                   "; only bits 1 (weight decay) and 2 (LARS adaptation) are defined");
  return {off.data(), fp, nseg};
}

// A float32 contiguous state/gradient buffer matching param's element count and device.
float* state_buffer(Tensor* t, const Tensor* param, const char* name) {
  float* p = f32(t, name);
  expect_numel(t, param->numel(), name);
  expect_same_device(t, param, name, "param");
  return p;
}

double learning_rate(const Args& a, size_t i) {
  double lr = a.number(i, "lr");
  IMIX_CHECK(lr >= 0.0, Value, "lr: expected a non-negative number, got " + std::to_string(lr));
  return lr;
}
double weight_decay(const Args& a, size_t i) {
  double wd = a.number(i, "weightDecay");
  IMIX_CHECK(wd >= 0.0, Value, "weightDecay: expected a non-negative number, got " + std::to_string(wd));
  return wd;
}
// A number in [0, 1).
double unit_open(const Args& a, size_t i, const char* name) {
  double v = a.number(i, name);
  IMIX_CHECK(v >= 0.0 && v < 1.0, Value, std::string(name) + ": " + std::to_string(v) + " is outside [0, 1)");
  return v;
}

Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* param = a.tensor(0, "param");
  Tensor* grad = a.tensor(1, "grad");
  Tensor* buf = a.optional_tensor(2, "buf");
  double lr = learning_rate(a, 3);
  double momentum = unit_open(a, 4, "momentum");
  double wd = weight_decay(a, 5);
  bool nesterov = a.boolean(6, "nesterov");

  float* pp = f32(param, "param");
  const float* gp = state_buffer(grad, param, "grad");
  float* bp = buf ? state_buffer(buf, param, "buf") : nullptr;
  const Dispatch dev(param, "param");
  IMIX_CHECK(!nesterov || momentum > 0.0, Value, "nesterov: requires momentum > 0");
  IMIX_CHECK(buf || momentum == 0.0, Argument, "buf: a momentum buffer is required when momentum > 0");
  Segs sg = read_segments(a, 7, param->numel());
  expect_disjoint({{param, "param", true}, {grad, "grad", false}, {buf, "buf", true}});
  // With momentum 0 the buffer plays no part (PyTorch does not keep one).
  IMIX_KERNEL(dev, sgd_step, pp, gp, momentum > 0.0 ? bp : nullptr, param->numel(), (float)lr, (float)momentum,
              (float)wd, nesterov, sg.offsets, sg.flags, sg.nseg);
  return info.Env().Undefined();
}

Napi::Value LarsStep(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* param = a.tensor(0, "param");
  Tensor* grad = a.tensor(1, "grad");
  Tensor* buf = a.tensor(2, "buf");
  double lr = learning_rate(a, 3);
  double momentum = unit_open(a, 4, "momentum");
  double wd = weight_decay(a, 5);
  double eta = a.number(6, "eta");
  IMIX_CHECK(eta > 0.0, Value, "eta: expected a positive number, got " + std::to_string(eta));
  bool nesterov = a.boolean(7, "nesterov");

  float* pp = f32(param, "param");
  const float* gp = state_buffer(grad, param, "grad");
  float* bp = state_buffer(buf, param, "buf");
  const Dispatch dev(param, "param");
  IMIX_CHECK(!nesterov || momentum > 0.0, Value, "nesterov: requires momentum > 0");
  Segs sg = read_segments(a, 8, param->numel());
  expect_disjoint({{param, "param", true}, {grad, "grad", false}, {buf, "buf", true}});
  IMIX_KERNEL(dev, lars_step, pp, gp, bp, param->numel(), (float)lr, (float)momentum, (float)wd, (float)eta,
              nesterov, sg.offsets, sg.flags, sg.nseg);
  return info.Env().Undefined();
}

Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* param = a.tensor(0, "param");
  Tensor* grad = a.tensor(1, "grad");
  Tensor* m = a.tensor(2, "m");
  Tensor* v = a.tensor(3, "v");
  double lr = learning_rate(a, 4);
  double beta1 = unit_open(a, 5, "beta1");
  double beta2 = unit_open(a, 6, "beta2");
  double eps = a.number(7, "eps");
  IMIX_CHECK(eps > 0.0, Value, "eps: expected a positive number, got " + std::to_string(eps));
  double wd = weight_decay(a, 8);
  int64_t step = a.integer(9, "step");
  IMIX_CHECK(step >= 1, Value, "step: expected an integer >= 1 (the 1-based step count), got " + std::to_string(step));

  float* pp = f32(param, "param");
  const float* gp = state_buffer(grad, param, "grad");
  float* mp = state_buffer(m, param, "m");
  float* vp = state_buffer(v, param, "v");
  const Dispatch dev(param, "param");
  Segs sg = read_segments(a, 10, param->numel());
  expect_disjoint({{param, "param", true}, {grad, "grad", false}, {m, "m", true}, {v, "v", true}});
  IMIX_KERNEL(dev, adamw_step, pp, gp, mp, vp, param->numel(), (float)lr, beta1, beta2, (float)eps, (float)wd,
              step, sg.offsets, sg.flags, sg.nseg);
  return info.Env().Undefined();
}

}  // namespace

void register_optim_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "sgdStep", SgdStep);
  bind(env, exports, "larsStep", LarsStep);
  bind(env, exports, "adamwStep", AdamwStep);
}

}  // namespace imix
