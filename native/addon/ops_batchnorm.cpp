// Bindings for the batchnorm kernel family (placeholder until the family lands).
#include "ops.h"

namespace imix {
void register_batchnorm_ops(Napi::Env, Napi::Object) {}
}  // namespace imix
