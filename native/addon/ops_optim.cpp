// Bindings for the optim kernel family (placeholder until the family lands).
#include "ops.h"

namespace imix {
void register_optim_ops(Napi::Env, Napi::Object) {}
}  // namespace imix
