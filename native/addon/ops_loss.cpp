// Bindings for the loss kernel family (placeholder until the family lands).
#include "ops.h"

namespace imix {
void register_loss_ops(Napi::Env, Napi::Object) {}
}  // namespace imix
