// MoCo's key queue on the GPU: the N new rows land in the [K, D] ring at row
// ptr as at most two device-to-device cudaMemcpyAsync's on the stream —
// [ptr, min(ptr+N, K)) then the wrapped rest at row 0. ptr lives on the
// host (the binding validated it), so the new ptr is computed there: no
// kernel, no synchronization.
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {

int64_t queue_enqueue(float* queue, int64_t K, int64_t D, const float* keys, int64_t N, int64_t ptr) {
  const int64_t first = N < K - ptr ? N : K - ptr;
  if (first > 0 && D > 0)
    IMIX_CUDA_CHECK(cudaMemcpyAsync(queue + ptr * D, keys, (size_t)(first * D) * sizeof(float),
                                    cudaMemcpyDeviceToDevice, stream()));
  if (N > first && D > 0)
    IMIX_CUDA_CHECK(cudaMemcpyAsync(queue, keys + first * D, (size_t)((N - first) * D) * sizeof(float),
                                    cudaMemcpyDeviceToDevice, stream()));
  return (ptr + N) % K;
}

}  // namespace imix::cuda
