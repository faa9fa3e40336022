// i-Mix input mixing, always out of place (the permuted source row is read
// while rows are written):
//   mixup   out_i = λ_i·x_i + (1−λ_i)·x_{π(i)}      rows of F floats
//   cutmix  out_i = x_i outside the box, x_{π(i)} inside, per channel
//   cutmix_box  the box of the CutMix authors' reference code (rand_bbox):
//     cut_rat = sqrt(1−λ);  cut_w = ⌊W·cut_rat⌋, cut_h = ⌊H·cut_rat⌋   (double)
//     cx = ⌊u0·W⌋, cy = ⌊u1·H⌋, u_k = u32_to_unit(Philox word k of (seed, offset)),
//       computed exactly in integers as ((word >> 8)·W) >> 24 (u_k is a
//       multiple of 2^−24, so this is the floor): uniform on [0, W) / [0, H)
//     x0 = clip(cx − cut_w/2, 0, W), x1 = clip(cx + cut_w/2, 0, W)   (integer /)
//     y0 = clip(cy − cut_h/2, 0, H), y1 = clip(cy + cut_h/2, 0, H)
//     λ' = 1 − (x1−x0)(y1−y0)/(W·H)   (double, rounded to float once)
//
// Shape of the implementation: mixup is one fused multiply-add per element
// over contiguous rows (a vectorized inner loop), threads split the rows.
// cutmix does no arithmetic: each (row, channel) plane is a handful of
// memcpy's — the rows above and below the box in one piece each, and inside
// the box band three segments per image row (left of the box from x_i, the
// box from x_{π(i)}, right of it from x_i) — so every output float is written
// once. Threads split the N·C planes.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "../common/philox.h"
#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {

void mixup(const float* __restrict x, float* __restrict out, int64_t N, int64_t F,
           const int32_t* __restrict perm, const float* __restrict lam, float lam_scalar) {
  if (N <= 0 || F <= 0) return;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / F);
  parallel_for(N, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float l = lam ? lam[i] : lam_scalar;
      const float m = 1.0f - l;
      const float* __restrict xa = x + i * F;
      const float* __restrict xb = x + (int64_t)perm[i] * F;
      float* __restrict o = out + i * F;
#pragma omp simd
      for (int64_t f = 0; f < F; ++f) o[f] = l * xa[f] + m * xb[f];
    }
  });
}

Box cutmix_box(float lam, int64_t H, int64_t W, uint64_t seed, uint64_t offset, float* lam_out) {
  const double cut_rat = std::sqrt(1.0 - (double)lam);
  const int64_t cut_w = (int64_t)std::floor((double)W * cut_rat);
  const int64_t cut_h = (int64_t)std::floor((double)H * cut_rat);
  const Philox4 blk = philox4x32_10(seed, 0, offset);  // words 0 and 1 of the stream
  const int64_t cx = (int64_t)(((uint64_t)(blk.v[0] >> 8) * (uint64_t)W) >> 24);
  const int64_t cy = (int64_t)(((uint64_t)(blk.v[1] >> 8) * (uint64_t)H) >> 24);
  auto clip = [](int64_t v, int64_t hi) { return v < 0 ? 0 : (v > hi ? hi : v); };
  Box box;
  box.x0 = clip(cx - cut_w / 2, W);
  box.x1 = clip(cx + cut_w / 2, W);
  box.y0 = clip(cy - cut_h / 2, H);
  box.y1 = clip(cy + cut_h / 2, H);
  const double area = (double)(box.x1 - box.x0) * (double)(box.y1 - box.y0);
  if (lam_out) *lam_out = (float)(1.0 - area / ((double)W * (double)H));
  return box;
}

void cutmix(const float* __restrict x, float* __restrict out, int64_t N, int64_t C, int64_t H,
            int64_t W, const int32_t* __restrict perm, Box box) {
  const int64_t HW = H * W, planes = N * C;
  if (planes <= 0 || HW <= 0) return;
  const bool empty = box.x1 <= box.x0 || box.y1 <= box.y0;
  const size_t fs = sizeof(float);
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / HW);
  parallel_for(planes, grain, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t i = p / C, c = p - i * C;
      const float* src = x + p * HW;
      float* dst = out + p * HW;
      if (empty) {
        std::memcpy(dst, src, (size_t)HW * fs);
        continue;
      }
      const float* alt = x + ((int64_t)perm[i] * C + c) * HW;
      std::memcpy(dst, src, (size_t)(box.y0 * W) * fs);  // rows above the box
      for (int64_t y = box.y0; y < box.y1; ++y) {
        const int64_t r = y * W;
        std::memcpy(dst + r, src + r, (size_t)box.x0 * fs);
        std::memcpy(dst + r + box.x0, alt + r + box.x0, (size_t)(box.x1 - box.x0) * fs);
        std::memcpy(dst + r + box.x1, src + r + box.x1, (size_t)(W - box.x1) * fs);
      }
      std::memcpy(dst + box.y1 * W, src + box.y1 * W, (size_t)((H - box.y1) * W) * fs);  // below
    }
  });
}

}  // namespace imix::cpu
