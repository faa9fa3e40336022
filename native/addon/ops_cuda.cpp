// info().cuda and the CUDA device utilities (tests, benchmarks, tools):
//   cudaSynchronize(device)          waits for the device's stream
//   cudaMemoryStats(device)          the caching allocator's counters
//   cudaEmptyCache(device)           returns cached blocks to the driver
//   cudaSetTiledGemm(on)             force imix's tiled sgemm instead of cuBLAS
//   cudaStats(device, reset)         host synchronizations and host copies so far
// In a build without CUDA they throw a DeviceError saying so; info().cuda
// says {compiled: false, devices: [], reason}.
#include <string>

#include "args.h"
#include "errors.h"
#include "ops.h"
#if IMIX_WITH_CUDA
#include "../cuda/runtime.h"
#endif

namespace imix {

Napi::Object cuda_info(Napi::Env env) {
  Napi::Object cuda = Napi::Object::New(env);
  Napi::Array devs = Napi::Array::New(env);
#if IMIX_WITH_CUDA
  const cuda::Status& st = cuda::status();
  cuda.Set("compiled", true);
  uint32_t k = 0;
  for (const cuda::DeviceProps& d : st.devices) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", d.index);
    o.Set("name", d.name);
    o.Set("memory", (double)d.memory);
    o.Set("capability", std::to_string(d.major) + "." + std::to_string(d.minor));
    o.Set("supported", d.supported);
    devs.Set(k++, o);
  }
  cuda.Set("devices", devs);
  if (!st.reason.empty()) cuda.Set("reason", st.reason);
  auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); };
  cuda.Set("runtime", ver(st.runtime_version));
  cuda.Set("driver", st.driver_version ? ver(st.driver_version) : std::string("none"));
  cuda.Set("gemm", cuda::gemm_backend());
#if IMIX_CUDA_EMULATED
  cuda.Set("emulated", true);  // test build: the CPU emulation of test/cuda/emulate
#endif
  {
    // Debugging modes read from the environment (IMIX_CUDA_NO_CACHE, IMIX_CUDA_SYNC_LAUNCH).
    const std::vector<std::string> modes = cuda::debug_modes();
    if (!modes.empty()) {
      Napi::Array dbg = Napi::Array::New(env, modes.size());
      for (uint32_t i = 0; i < modes.size(); ++i) dbg.Set(i, modes[i]);
      cuda.Set("debug", dbg);
    }
  }
  if (!st.devices.empty()) cuda.Set("gemmDetail", cuda::gemm_detail());
#else
  cuda.Set("compiled", false);
  cuda.Set("devices", devs);
  cuda.Set("reason", no_cuda_build_reason());
#endif
  return cuda;
}

namespace {

#if IMIX_WITH_CUDA
int device_arg(const Args& a, size_t i) {
  int64_t d = a.present(i) ? a.integer(i, "device") : 0;
  IMIX_CHECK(d >= 0 && d < 1024, Value, "device: expected a CUDA device index, got " + std::to_string(d));
  cuda::backend((int)d, "device");  // throws DeviceError when unusable
  return (int)d;
}
#else
[[noreturn]] void no_cuda(const char* what) {
  fail(ErrorKind::Device, std::string(what) + ": " + no_cuda_build_reason());
}
#endif

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
#if IMIX_WITH_CUDA
  Args a(info);
  backend_for(Device{Device::CUDA, device_arg(a, 0)}).synchronize();
  return info.Env().Undefined();
#else
  no_cuda("cudaSynchronize");
#endif
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
#if IMIX_WITH_CUDA
  Args a(info);
  cuda::PoolStats s = cuda::pool_stats(device_arg(a, 0));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("inUse", (double)s.in_use);
  o.Set("cached", (double)s.cached);
  o.Set("mallocs", (double)s.mallocs);
  o.Set("frees", (double)s.frees);
  o.Set("reuses", (double)s.reuses);
  return o;
#else
  no_cuda("cudaMemoryStats");
#endif
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
#if IMIX_WITH_CUDA
  Args a(info);
  cuda::empty_cache(device_arg(a, 0));
  return info.Env().Undefined();
#else
  no_cuda("cudaEmptyCache");
#endif
}

// cudaStats(device = 0, reset = false): the device's SyncStats
// (native/cuda/runtime.h) since the process started or the last reset.
Napi::Value Stats(const Napi::CallbackInfo& info) {
#if IMIX_WITH_CUDA
  Args a(info);
  const int d = device_arg(a, 0);
  const bool reset = a.boolean_or(1, "reset", false);
  const cuda::SyncStats s = cuda::sync_stats(d, reset);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("syncs", (double)s.syncs);
  o.Set("downloads", (double)s.downloads);
  o.Set("downloadBytes", (double)s.download_bytes);
  o.Set("uploads", (double)s.uploads);
  o.Set("uploadBytes", (double)s.upload_bytes);
  return o;
#else
  no_cuda("cudaStats");
#endif
}

Napi::Value SetTiledGemm(const Napi::CallbackInfo& info) {
  Args a(info);
  bool on = a.boolean(0, "on");
#if IMIX_WITH_CUDA
  cuda::force_tiled_gemm(on);
  return Napi::String::New(info.Env(), cuda::gemm_backend());
#else
  (void)on;
  no_cuda("cudaSetTiledGemm");
#endif
}

}  // namespace

void register_cuda_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "cudaSynchronize", Synchronize);
  bind(env, exports, "cudaMemoryStats", MemoryStats);
  bind(env, exports, "cudaEmptyCache", EmptyCache);
  bind(env, exports, "cudaSetTiledGemm", SetTiledGemm);
  bind(env, exports, "cudaStats", Stats);
}

}  // namespace imix
