// Binding of SCARF's feature resampling (kernels: native/cpu/resample.cpp,
// native/cuda/resample.cu):
//   resampleFeatures(x, pool, out, p, seed, offset)
// x: float32, contiguous, 2-D rows [N, F]; pool: float32, contiguous,
// [M, F] with M ≥ 1 (the training rows a replaced feature is drawn from);
// out: float32 of x's shape; all three on one device. p: a probability in
// [0, 1]. seed/offset: non-negative integers below 2^53 (Args::philox).
// Aliasing: out may be x itself (in place) but not partially overlap it;
// the pool may share memory with x (both are only read) but not with out,
// whose writes would change the rows later elements draw from. Sizes need no
// further bound: a tensor's extent is below 2^40 (extent.h), so i·F + j and
// r·F + j stay far inside int64 and M inside the draw's 64-bit multiply.
#include <string>

#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

Napi::Value ResampleFeatures(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* x = a.tensor(0, "x");
  Tensor* pool = a.tensor(1, "pool");
  Tensor* out = a.tensor(2, "out");
  double p = a.number_in(3, "p", 0.0, 1.0);
  const PhiloxStream rng = a.philox(4);
  const float* xp;
  float* op;
  const Dispatch dev = batch_pair(x, out, 2, "SCARF resampling needs rows [N, F]", true, &xp, &op);
  const int64_t N = x->shape[0], F = x->shape[1];
  const float* pp = f32(pool, {-1, F}, "pool");
  IMIX_CHECK(pool->shape[0] >= 1, Shape,
             "pool: expected at least one row to draw features from, got shape " + pool->shape_str());
  expect_same_device(pool, x, "pool", "x");
  if (pool->storage == out->storage) {  // expect_no_alias's test, with a message for this kernel
    const int64_t p0 = pool->offset, p1 = p0 + pool->numel(), o0 = out->offset, o1 = o0 + out->numel();
    IMIX_CHECK(p1 <= o0 || o1 <= p0, Value,
               "pool and out overlap in memory; out may be x itself, but the pool must stay apart from it");
  }
  IMIX_KERNEL(dev, resample_features, xp, pp, op, N, F, pool->shape[0], p, rng.seed, rng.offset);
  return info.Env().Undefined();
}

}  // namespace

void register_resample_ops(Napi::Env env, Napi::Object exports) { bind(env, exports, "resampleFeatures", ResampleFeatures); }

}  // namespace imix
