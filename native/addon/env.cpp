#include "env.h"

namespace imix {

namespace {
// Environment teardown: stop reporting memory (storages still alive are
// freed by finalizers after this), drop the references, free the state.
void cleanup(void* arg) {
  EnvData* d = static_cast<EnvData*>(arg);
  d->memory->detach();
  d->tensor_ctor.Reset();
  for (Napi::FunctionReference& c : d->error_classes) c.Reset();
  napi_set_instance_data(d->env, nullptr, nullptr, nullptr);
  delete d;
}
}  // namespace

EnvData& env_data(napi_env env) {
  void* p = nullptr;
  if (napi_get_instance_data(env, &p) == napi_ok && p) return *static_cast<EnvData*>(p);
  EnvData* d = new EnvData();
  d->env = env;
  d->memory = std::make_shared<ExternalMemory>(env);
  // No finalizer: the cleanup hook owns d (it runs before the environment's
  // own teardown, while N-API calls are still allowed).
  if (napi_set_instance_data(env, d, nullptr, nullptr) != napi_ok ||
      napi_add_env_cleanup_hook(env, cleanup, d) != napi_ok)
    throw Napi::Error::New(env, "imix: cannot register the addon's per-environment state");
  return *d;
}

}  // namespace imix
