// Bindings: ema(target, source, momentum), queueEnqueue(queue, keys, ptr) -> ptr.
#include "../cpu/kernels.h"
#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

Napi::Value Ema(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* t = a.tensor(0, "target");
  Tensor* s = a.tensor(1, "source");
  double m = a.number_in(2, "momentum", 0.0, 1.0);
  float* tp = f32(t, "target");
  const float* sp = f32(s, "source");
  expect_same_device(s, t, "source", "target");
  expect_same_numel(s, t, "source", "target");
  // target = source is a no-op and fine; a partial overlap would race (one
  // thread writes what another still reads as source).
  expect_same_or_no_alias(t, s, "target", "source");
  const Dispatch dev(t, "target");
  IMIX_KERNEL(dev, ema, tp, sp, t->numel(), (float)m);
  return info.Env().Undefined();
}

Napi::Value QueueEnqueue(const Napi::CallbackInfo& info) {
  Args a(info);
  Tensor* q = a.tensor(0, "queue");
  Tensor* k = a.tensor(1, "keys");
  int64_t ptr = a.integer(2, "ptr");
  expect_ndim(q, 2, "queue");
  int64_t K = q->shape[0], D = q->shape[1];
  expect_shape(k, {-1, D}, "keys");
  int64_t N = k->shape[0];
  float* qp = f32(q, "queue");
  const float* kp = f32(k, "keys");
  expect_same_device(k, q, "keys", "queue");
  const Dispatch dev(q, "queue");
  IMIX_CHECK(K > 0, Shape, "queue: has no rows");
  IMIX_CHECK(N <= K, Shape,
             "keys: " + std::to_string(N) + " rows do not fit a queue of " + std::to_string(K) + " rows");
  IMIX_CHECK(ptr >= 0 && ptr < K, Value,
             "ptr: " + std::to_string(ptr) + " is outside [0, " + std::to_string(K) + ")");
  expect_no_alias(k, q, "keys", "queue");
  int64_t next = IMIX_KERNEL(dev, queue_enqueue, qp, K, D, kp, N, ptr);
  return Napi::Number::New(info.Env(), (double)next);
}

}  // namespace

void register_state_ops(Napi::Env env, Napi::Object exports) {
  bind(env, exports, "ema", Ema);
  bind(env, exports, "queueEnqueue", QueueEnqueue);
}

}  // namespace imix
