#include "args.h"

#include <vector>

namespace imix {

void check_permutation(const int32_t* perm, int64_t N, const char* name) {
  std::vector<uint8_t> seen((size_t)N, 0);
  for (int64_t i = 0; i < N; ++i) {
    int32_t p = perm[i];
    IMIX_CHECK(p >= 0 && p < N, Value,
               std::string(name) + ": entry " + std::to_string(i) + " is " + std::to_string(p) +
                   ", outside 0.." + std::to_string(N - 1) + " (not a permutation)");
    IMIX_CHECK(!seen[p], Value,
               std::string(name) + ": value " + std::to_string(p) + " appears twice (not a permutation)");
    seen[p] = 1;
  }
}

void check_indices(const int32_t* idx, int64_t n, int64_t lo, int64_t hi, const char* name) {
  for (int64_t i = 0; i < n; ++i)
    IMIX_CHECK(idx[i] >= lo && idx[i] < hi, Value,
               std::string(name) + ": entry " + std::to_string(i) + " is " + std::to_string(idx[i]) +
                   ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + ")");
}

void check_unit_interval(const float* v, int64_t n, const char* name) {
  for (int64_t i = 0; i < n; ++i)
    IMIX_CHECK(v[i] >= 0.0f && v[i] <= 1.0f, Value,
               std::string(name) + ": entry " + std::to_string(i) + " is " + std::to_string(v[i]) +
                   ", outside [0, 1]");
}

}  // namespace imix
