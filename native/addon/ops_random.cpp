// Bindings for the random kernel family (placeholder until the family lands).
#include "ops.h"

namespace imix {
void register_random_ops(Napi::Env, Napi::Object) {}
}  // namespace imix
