// Bindings for the gemm kernel family (placeholder until the family lands).
#include "ops.h"

namespace imix {
void register_gemm_ops(Napi::Env, Napi::Object) {}
}  // namespace imix
