// Staged read-backs: a device→host copy issued now and read later, so that
// reading a step's values (the collapse monitor's embeddings) costs no
// synchronization of its own when some other read-back (the step's loss)
// waits for the stream after it.
//   readbackStart(t) -> ticket       issues the copy of t's elements
//   readbackFinish(ticket, target)   copies them into target (a Float32Array or
//                                    Int32Array of t's byte size); returns
//                                    whether the host had to wait for the device
// On CUDA the copy goes to a pinned buffer on the device's stream
// (native/cuda/device.cu stage_download) and finishing waits only if the
// stream has not passed it yet (counted by cudaStats()). On the CPU the
// elements are copied at once. One staged read-back per device (and per
// thread for the CPU): a later readbackStart on the same device replaces
// it, and finishing the replaced ticket is a ValueError.
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "ops.h"
#if IMIX_WITH_CUDA
#include "../cuda/runtime.h"
#endif

namespace imix {
namespace {

// ticket = generation · 2048 + device code (0: cpu, 1 + i: cuda:i; i < 1024),
// below 2^53 so that JS holds it exactly.
constexpr uint64_t kCodes = 2048;
constexpr uint64_t kMaxGen = (uint64_t{1} << 53) / kCodes;

struct CpuSlot {
  uint64_t gen = 0;  // 0: none pending
  std::vector<char> bytes;
};
thread_local CpuSlot t_cpu;
thread_local uint64_t t_cpu_gen = 0;

Napi::Value ReadbackStart(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* t = a.tensor(0, "t");
  expect_contiguous(t, "t");
  const size_t bytes = checked_bytes(t->numel(), dtype_size(t->dtype), "t");
  const Device d = t->device();
  uint64_t gen = 0;
  if (d.type == Device::CPU) {
    t_cpu.gen = 0;
    t_cpu.bytes.resize(bytes);
    if (bytes) std::memcpy(t_cpu.bytes.data(), t->read_data(), bytes);
    gen = t_cpu.gen = ++t_cpu_gen;
  } else {
#if IMIX_WITH_CUDA
    backend_for(d, "t");  // makes it current
    gen = cuda::stage_download(t->read_data(), bytes);
#endif
  }
  IMIX_CHECK(gen > 0 && gen < kMaxGen, Value, "t: too many read-backs in one process");
  const uint64_t code = d.type == Device::CPU ? 0 : 1 + (uint64_t)d.index;
  return Napi::Number::New(info.Env(), (double)(gen * kCodes + code));
}

Napi::Value ReadbackFinish(const Napi::CallbackInfo& info) {
  Args a(info);
  const int64_t ticket = a.integer(0, "ticket");
  IMIX_CHECK(ticket > 0, Value, "ticket: expected a ticket from readbackStart, got " + std::to_string(ticket));
  IMIX_CHECK(a.present(1) && a.raw(1).IsTypedArray(), Argument, "target: expected a Float32Array or Int32Array");
  Napi::TypedArray arr = a.raw(1).As<Napi::TypedArray>();
  IMIX_CHECK(arr.TypedArrayType() == napi_float32_array || arr.TypedArrayType() == napi_int32_array, DType,
             "target: expected a Float32Array or Int32Array");
  void* dst = nullptr;
  size_t len = 0;
  napi_status st = napi_get_typedarray_info(info.Env(), arr, nullptr, &len, &dst, nullptr, nullptr);
  IMIX_CHECK(st == napi_ok, Argument, "target: expected a typed array");
  const size_t bytes = len * 4;
  const uint64_t code = (uint64_t)ticket % kCodes, gen = (uint64_t)ticket / kCodes;
  if (code == 0) {
    IMIX_CHECK(gen != 0 && t_cpu.gen == gen, Value,
               "ticket: cpu has no staged read-back " + std::to_string(ticket) +
                   " (finished already, or replaced by a later one: a device keeps one)");
    IMIX_CHECK(bytes == t_cpu.bytes.size(), Shape,
               "target: has " + std::to_string(bytes) + " bytes, the staged read-back " +
                   std::to_string(t_cpu.bytes.size()));
    t_cpu.gen = 0;
    if (bytes) std::memcpy(dst, t_cpu.bytes.data(), bytes);
    return Napi::Boolean::New(info.Env(), false);
  }
  IMIX_CHECK(code <= 1024, Value, "ticket: " + std::to_string(ticket) + " is not a ticket from readbackStart");
#if IMIX_WITH_CUDA
  const int index = (int)(code - 1);
  backend_for(Device{Device::CUDA, index}, "ticket");
  return Napi::Boolean::New(info.Env(), cuda::finish_staged(index, gen, dst, bytes));
#else
  fail(ErrorKind::Value, "ticket: " + std::to_string(ticket) + " names a CUDA device, and " + no_cuda_build_reason());
#endif
}

}  // namespace

void register_readback_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "readbackStart", ReadbackStart);
  bind(env, exports, "readbackFinish", ReadbackFinish);
}

}  // namespace imix
