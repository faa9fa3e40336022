// Bindings for the mix kernel family (placeholder until the family lands).
#include "ops.h"

namespace imix {
void register_mix_ops(Napi::Env, Napi::Object) {}
}  // namespace imix
