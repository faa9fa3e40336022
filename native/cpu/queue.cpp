// MoCo's key queue: a FIFO ring of K rows of D floats. Enqueueing N keys at
// row ptr is at most two contiguous copies: [ptr, min(ptr+N, K)) then the
// wrapped remainder at [0, ptr+N−K).
#include <cstring>

#include "kernels.h"

namespace imix::cpu {

int64_t queue_enqueue(float* queue, int64_t K, int64_t D, const float* keys, int64_t N, int64_t ptr) {
  int64_t first = N < K - ptr ? N : K - ptr;
  std::memcpy(queue + ptr * D, keys, (size_t)(first * D) * sizeof(float));
  if (N > first) std::memcpy(queue, keys + first * D, (size_t)((N - first) * D) * sizeof(float));
  return (ptr + N) % K;
}

}  // namespace imix::cpu
