// SCARF's feature resampling (Bahri et al., "SCARF: Self-Supervised
// Contrastive Learning using Random Feature Corruption", ICLR 2022): the
// per-element draw, shared verbatim by the CPU kernel
// (native/cpu/resample.cpp) and its CUDA twin (native/cuda/resample.cu), so
// both replace the same elements with the same pool rows.
//
// Draw layout (the contract; lib/ops/resample.ts documents it and the TS
// tests reproduce it with lib/random.ts philoxBlock): element (i, j) of a
// batch x[N, F] reads Philox block e = i·F + j of the stream (seed, offset),
// i.e. philox4x32_10(key = seed, counter = {lo(e), hi(e), lo(offset),
// hi(offset)}) → words (w0, w1, w2, w3):
//   replace  u(w0) < p, with u(w) = (w >> 8)·2⁻²⁴ (the 24-bit uniform in
//            [0, 1) of randUniform; exact in double, compared with the double p)
//   row      r = ⌊(w1·2³² + w2)·M / 2⁶⁴⌋ ∈ [0, M): the high 64 bits of the
//            64 × 64-bit product, computed exactly in integers
//   w3 unused.
// One block per element (not four elements per block as input drop) because
// an element needs three words. r is uniform on [0, M) to within 2⁻⁶⁴ per
// row (each row gets ⌊2⁶⁴/M⌋ or ⌈2⁶⁴/M⌉ of the 2⁶⁴ values of w1·2³² + w2),
// for any row count a tensor can have, with no rejection loop (a loop would
// make the work per element depend on the draws). The result is a pure function of
// (seed, offset, e) and the data: independent of the thread count, the
// schedule and the device.
#pragma once
#include <cstdint>

#include "hd.h"
#include "philox.h"

namespace imix {

// High 64 bits of a·b, from four 32 × 32-bit products (no 128-bit type, no
// intrinsic: the same integer operations on every compiler and device).
IMIX_HD uint64_t mulhi64(uint64_t a, uint64_t b) {
  const uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
  const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;  // < 3·2³²: no overflow
  return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

// Whether the element whose block is r takes a pool value: u(w0) < p.
IMIX_HD bool resample_replace(const Philox4& r, double p) { return (double)(r.v[0] >> 8) * (1.0 / 16777216.0) < p; }

// The pool row it takes, in [0, M) for M ≥ 1.
IMIX_HD int64_t resample_row(const Philox4& r, int64_t M) {
  return (int64_t)mulhi64(((uint64_t)r.v[1] << 32) | r.v[2], (uint64_t)M);
}

// out value of element e = i·F + j (column j): pool[r, j] if replaced, else x[e].
IMIX_HD float resample_at(const float* x, const float* pool, int64_t e, int64_t j, int64_t F, int64_t M, double p,
                          uint64_t seed, uint64_t offset) {
  const Philox4 r = philox4x32_10(seed, (uint64_t)e, offset);
  return resample_replace(r, p) ? pool[resample_row(r, M) * F + j] : x[e];
}

}  // namespace imix
