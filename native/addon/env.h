// Per-environment state of the addon. Node can load the addon into several
// environments of one process (the main thread and worker threads); each
// gets its own Tensor constructor, error classes and external-memory
// accounting, created on first use (napi_set_instance_data) and released by
// an environment cleanup hook — so a worker that exits takes its state with
// it and leaves the other environments' intact.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>

namespace imix {

// Reports a storage block's bytes to V8 (napi_adjust_external_memory), so
// that the garbage collector sees what forgotten tensors hold and collects
// them in time. Shared by every Storage of one environment; after the
// environment's cleanup hook has run (teardown), adjust() does nothing:
// storages freed by the last finalizers must not call into N-API then.
class ExternalMemory {
 public:
  explicit ExternalMemory(napi_env env) : env_(env) {}
  void adjust(int64_t delta) noexcept {
    if (!alive_ || delta == 0) return;
    int64_t total = 0;
    napi_adjust_external_memory(env_, delta, &total);  // a hint: a failure is harmless
  }
  void detach() noexcept { alive_ = false; }

 private:
  napi_env env_;
  bool alive_ = true;
};

struct EnvData {
  napi_env env = nullptr;
  Napi::FunctionReference tensor_ctor;      // Tensor::Init
  Napi::FunctionReference error_classes[7];  // set_error_classes, one per ErrorKind
  std::shared_ptr<ExternalMemory> memory;
};

// This environment's state (created on first call).
EnvData& env_data(napi_env env);

}  // namespace imix
