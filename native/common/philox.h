// Philox4x32-10 counter-based RNG (Salmon et al., SC'11), shared verbatim by
// the CPU and CUDA backends so both draw the same stream for the same seed.
//
// Stream layout (the contract every random kernel follows):
//   element i of a call with (seed, offset) takes 32-bit word (i % 4) of
//   block philox(key = seed, counter = {lo(b), hi(b), lo(offset), hi(offset)})
//   with b = i / 4.  Distinct offsets give independent streams; callers
//   advance offset per call (e.g. the step number) so nothing repeats.
#pragma once
#include <cmath>
#include <cstdint>

#include "hd.h"

namespace imix {

struct Philox4 {
  uint32_t v[4];
};

IMIX_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = (uint64_t)a * (uint64_t)b;
  *hi = (uint32_t)(p >> 32);
  return (uint32_t)p;
}

IMIX_HD Philox4 philox4x32_10(uint64_t seed, uint64_t block, uint64_t offset) {
  uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32);
  uint32_t c2 = (uint32_t)offset, c3 = (uint32_t)(offset >> 32);
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  Philox4 out;
  out.v[0] = c0; out.v[1] = c1; out.v[2] = c2; out.v[3] = c3;
  return out;
}

// Uniform in [0, 1): the top 24 bits, exactly representable in fp32.
IMIX_HD float u32_to_unit(uint32_t u) { return (float)(u >> 8) * (1.0f / 16777216.0f); }
// Uniform in (0, 1]: safe for log().
IMIX_HD float u32_to_unit_open0(uint32_t u) { return ((float)(u >> 8) + 1.0f) * (1.0f / 16777216.0f); }

// Word i of the stream (seed, offset).
IMIX_HD uint32_t philox_word(uint64_t seed, uint64_t offset, uint64_t i) {
  return philox4x32_10(seed, i >> 2, offset).v[i & 3];
}

// Standard normal for element i: Box–Muller on the word pair (i & ~1, i | 1)
// of the same block; even i takes the cosine, odd i the sine branch.
IMIX_HD float philox_normal_at(uint64_t seed, uint64_t offset, uint64_t i) {
  Philox4 b = philox4x32_10(seed, i >> 2, offset);
  unsigned j = (unsigned)(i & 2);
  float u1 = u32_to_unit_open0(b.v[j]);
  float u2 = u32_to_unit(b.v[j + 1]);
  float r = sqrtf(-2.0f * logf(u1));
  float t = 6.28318530717958647692f * u2;
  return (i & 1) ? r * sinf(t) : r * cosf(t);
}

}  // namespace imix
