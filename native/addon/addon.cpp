// Module entry: the Tensor class, info(), thread control, error-class
// registration, and every kernel family's bindings.
#include <napi.h>

#include <sstream>

#include "../cpu/kernels.h"
#include "cpu_dispatch.h"
#include "errors.h"
#include "ops.h"
#include "tensor.h"

#ifndef IMIX_VERSION
#define IMIX_VERSION "0.0.0"
#endif
#ifndef IMIX_BUILD_TYPE
#define IMIX_BUILD_TYPE "unknown"
#endif

namespace imix {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", IMIX_VERSION);
  o.Set("backend", "cpu");
  o.Set("blas", cpu::blas_name());
  o.Set("blasCore", cpu::blas_core());
  o.Set("threads", cpu::num_threads());
  o.Set("openmp", cpu::openmp());
  o.Set("cpuKernels", cpu::kernel_set());
  Napi::Array sets = Napi::Array::New(env);
  for (const CpuKernelSet& k : cpu_kernel_sets())
    if (k.missing.empty()) sets.Set(sets.Length(), k.name);
  o.Set("cpuKernelSets", sets);
  Napi::Array simd = Napi::Array::New(env);
  std::istringstream flags(cpu::simd_flags());
  for (std::string f; flags >> f;) simd.Set(simd.Length(), f);
  o.Set("simd", simd);
  // The bf16 gemm (precision 'bf16'): in the kernel set and on this CPU, or why not.
  Napi::Object bf16 = Napi::Object::New(env);
  const std::string bf16_missing = cpu::gemm_bf16_missing();
  bf16.Set("available", bf16_missing.empty());
  if (!bf16_missing.empty()) bf16.Set("reason", bf16_missing);
  o.Set("bf16", bf16);
  o.Set("buildType", IMIX_BUILD_TYPE);
  o.Set("cxxFlags", cpu::cxx_flags());
  o.Set("cuda", cuda_info(env));
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guard(info, [](const Napi::CallbackInfo& info) -> Napi::Value {
    IMIX_CHECK(info.Length() >= 1 && info[0].IsNumber(), Argument, "threads: expected a number");
    double n = info[0].As<Napi::Number>().DoubleValue();
    IMIX_CHECK(n >= 1 && n <= 1024 && n == (double)(int)n, Value, "threads: expected an integer in [1, 1024]");
    cpu::set_num_threads((int)n);
    return Napi::Number::New(info.Env(), cpu::num_threads());
  });
}

Napi::Value SetErrorClasses(const Napi::CallbackInfo& info) {
  set_error_classes(info);
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // First: every binding below may call a CPU kernel.
  try {
    load_cpu_kernels();
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  exports.Set("Tensor", Tensor::Init(env));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("setErrorClasses", Napi::Function::New(env, SetErrorClasses, "setErrorClasses"));
  register_gemm_ops(env, exports);
  register_loss_ops(env, exports);
  register_state_ops(env, exports);
  register_mix_ops(env, exports);
  register_batchnorm_ops(env, exports);
  register_optim_ops(env, exports);
  register_random_ops(env, exports);
  register_elementwise_ops(env, exports);
  register_augment_ops(env, exports);
  register_color_ops(env, exports);
  register_signal_ops(env, exports);
  register_resample_ops(env, exports);
  register_conv_ops(env, exports);
  register_pool_ops(env, exports);
  register_cuda_ops(env, exports);
  register_readback_ops(env, exports);
  register_fs_ops(env, exports);
  return exports;
}

}  // namespace imix

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return imix::Init(env, exports); }
NODE_API_MODULE(imix, InitModule)
