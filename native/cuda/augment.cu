// Geometric image views on the GPU, out of place, on x[N,C,H,W] (formulas in
// native/common/kernel_api.h, "augment.cpp"; the CPU twins are
// native/cpu/augment.cpp):
//   random_crop_flip     random crop with zero padding + horizontal flip
//   random_resized_crop  torchvision's RandomResizedCrop (bilinear) + flip
//   resized_crop         the same resampling of one given box
// Bit-identical to the CPU: the draws come from the same philox.h and
// resized_crop.h (image i's crop offsets, box and flip are a pure function of
// (seed, offset, i)), the crop/flip only moves floats, and the resampling is
// the same sequence of correctly rounded operations (explicit fmaf, products
// rounded on their own: nothing left for the compiler to contract).
//
// Shape: a 2-D grid, blockIdx.y walks the (image, channel) planes and the
// x-threads the H·W outputs of a plane (coalesced stores; the reads of a
// crop are rows of the source, the flipped ones reversed). A plane's draw is
// made once per block: thread 0 computes it into shared memory, between two
// barriers (the first keeps it from overwriting the previous plane's draw
// while other threads still read it).
#include "../common/philox.h"
#include "../common/resized_crop.h"
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

struct Shift {
  int64_t sy0, sx0;  // source = output + (sy0, sx0)
  int32_t flip;
};

__global__ void crop_flip_kernel(const float* __restrict x, float* __restrict out, int64_t N, int64_t C, int64_t H,
                                 int64_t W, int64_t pad, float flip_p, uint64_t seed, uint64_t offset) {
  __shared__ Shift sh;
  const int64_t HW = H * W, planes = N * C;
  const uint64_t span = 2 * (uint64_t)pad + 1;
  for (int64_t p = blockIdx.y; p < planes; p += gridDim.y) {
    __syncthreads();
    if (threadIdx.x == 0) {
      const Philox4 r = philox4x32_10(seed, (uint64_t)(p / C), offset);
      sh.sy0 = (int64_t)(((uint64_t)(r.v[0] >> 8) * span) >> 24) - pad;
      sh.sx0 = (int64_t)(((uint64_t)(r.v[1] >> 8) * span) >> 24) - pad;
      sh.flip = u32_to_unit(r.v[2]) < flip_p ? 1 : 0;
    }
    __syncthreads();
    const Shift s = sh;
    const float* src = x + p * HW;
    float* dst = out + p * HW;
    for (int64_t q = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; q < HW; q += (int64_t)gridDim.x * blockDim.x) {
      const int64_t y = q / W, xo = q - y * W;
      const int64_t sy = y + s.sy0, sx = (s.flip ? W - 1 - xo : xo) + s.sx0;
      dst[q] = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? src[sy * W + sx] : 0.0f;
    }
  }
}

// Random = true draws image i's box (rrc::draw_box); false uses `fixed`.
template <bool Random>
__global__ void resized_crop_kernel(const float* __restrict x, float* __restrict out, int64_t N, int64_t C,
                                    int64_t H, int64_t W, double scale_lo, double scale_hi, double ratio_lo,
                                    double ratio_hi, float flip_p, uint64_t seed, uint64_t offset, CropBox fixed) {
  __shared__ CropBox sb;
  const int64_t HW = H * W, planes = N * C;
  for (int64_t p = blockIdx.y; p < planes; p += gridDim.y) {
    if (Random) {
      __syncthreads();
      if (threadIdx.x == 0)
        sb = rrc::draw_box(p / C, H, W, scale_lo, scale_hi, ratio_lo, ratio_hi, flip_p, seed, offset);
      __syncthreads();
    }
    const CropBox b = Random ? sb : fixed;
    const float* src = x + p * HW;
    float* dst = out + p * HW;
    for (int64_t q = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; q < HW; q += (int64_t)gridDim.x * blockDim.x) {
      const int64_t y = q / W, xo = q - y * W;
      const rrc::Tap r = rrc::tap(y, b.h, H);
      const rrc::Tap c = rrc::tap(b.flip ? W - 1 - xo : xo, b.w, W);
      const float* ra = src + (b.top + r.i0) * W + b.left;
      const float* rb = src + (b.top + r.i1) * W + b.left;
      const float t0 = rrc::lerp(ra[c.i0], ra[c.i1], c.l0, c.l1);
      const float t1 = rrc::lerp(rb[c.i0], rb[c.i1], c.l0, c.l1);
      dst[q] = rrc::lerp(t0, t1, r.l0, r.l1);
    }
  }
}

dim3 planes_grid(int64_t planes, int64_t HW) {
  return dim3(blocks_for(HW, kThreads, kMaxColumnBlocks), blocks_for(planes, 1, kMaxGridY));
}

}  // namespace

void random_crop_flip(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W, int64_t pad,
                      float flip_p, uint64_t seed, uint64_t offset) {
  const int64_t planes = N * C, HW = H * W;
  if (planes <= 0 || HW <= 0) return;
  crop_flip_kernel<<<planes_grid(planes, HW), kThreads, 0, stream()>>>(x, out, N, C, H, W, pad, flip_p, seed,
                                                                      offset);
  IMIX_CUDA_LAUNCHED("random_crop_flip");
}

void random_resized_crop(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W, double scale_lo,
                         double scale_hi, double ratio_lo, double ratio_hi, float flip_p, uint64_t seed,
                         uint64_t offset) {
  const int64_t planes = N * C, HW = H * W;
  if (planes <= 0 || HW <= 0) return;
  const CropBox none{0, 0, 1, 1, 0};
  resized_crop_kernel<true><<<planes_grid(planes, HW), kThreads, 0, stream()>>>(
      x, out, N, C, H, W, scale_lo, scale_hi, ratio_lo, ratio_hi, flip_p, seed, offset, none);
  IMIX_CUDA_LAUNCHED("random_resized_crop");
}

void resized_crop(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W, CropBox box) {
  const int64_t planes = N * C, HW = H * W;
  if (planes <= 0 || HW <= 0) return;
  resized_crop_kernel<false><<<planes_grid(planes, HW), kThreads, 0, stream()>>>(x, out, N, C, H, W, 1.0, 1.0, 1.0,
                                                                                 1.0, 0.0f, 0, 0, box);
  IMIX_CUDA_LAUNCHED("resized_crop");
}

}  // namespace imix::cuda
