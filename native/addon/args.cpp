#include "args.h"

#include <algorithm>
#include <vector>

namespace imix {

Range Args::range(size_t i, const char* lo_name, const char* hi_name, double min, double max) const {
  const double lo = number_in(i, lo_name, min, max);
  const double hi = number_in(i + 1, hi_name, min, max);
  IMIX_CHECK(lo <= hi, Value,
             std::string(hi_name) + ": " + std::to_string(hi) + " is below " + lo_name + " " + std::to_string(lo));
  return {lo, hi};
}

PhiloxStream Args::philox(size_t i) const {
  const uint64_t seed = u64(i, "seed");
  const uint64_t offset = u64(i + 1, "offset");
  return {seed, offset};
}

RowMatrix row_matrix_f32(Tensor* t, const char* name) {
  expect_dtype(t, DType::F32, name);
  expect_ndim(t, 2, name);
  RowMatrix m{t, (float*)t->data(), t->shape[0], t->shape[1], 0};
  const std::string strides = "[" + std::to_string(t->strides[0]) + ", " + std::to_string(t->strides[1]) + "]";
  if (!m.empty()) {
    IMIX_CHECK(m.cols == 1 || t->strides[1] == 1, Shape,
               std::string(name) + ": expected unit stride along the last dimension, got strides " + strides);
    IMIX_CHECK(m.rows == 1 || t->strides[0] >= m.cols, Shape,
               std::string(name) + ": rows overlap (row stride " + std::to_string(t->strides[0]) + " < width " +
                   std::to_string(m.cols) + ")");
  }
  m.ld = m.rows > 1 ? t->strides[0] : m.cols;
  if (m.ld < 1) m.ld = 1;
  // Tensor::View keeps every view inside its storage; checked here as well,
  // since a kernel walks rows·ld floats from p.
  IMIX_CHECK(m.end() <= t->storage_elems(), Shape,
             std::string(name) + ": rows of shape " + t->shape_str() + " with strides " + strides + " at offset " +
                 std::to_string(t->offset) + " reach past the storage of " + std::to_string(t->storage_elems()) +
                 " elements");
  return m;
}

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

ContentFacts facts_of_i32(const int32_t* v, int64_t n) {
  ContentFacts f;
  if (n <= 0) return f;
  int32_t lo = v[0], hi = v[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  f.lo = lo;
  f.hi = hi;
  if (lo == 0 && (int64_t)hi == n - 1) {  // n values in [0, n): a permutation iff none repeats
    std::vector<uint8_t> seen((size_t)n, 0);
    bool perm = true;
    for (int64_t i = 0; i < n && perm; ++i) {
      perm = !seen[(size_t)v[i]];
      seen[(size_t)v[i]] = 1;
    }
    f.permutation = perm;
  }
  return f;
}

ContentFacts facts_of_f32(const float* v, int64_t n) {
  ContentFacts f;
  bool unit = true;
  for (int64_t i = 0; i < n; ++i) unit = unit && v[i] >= 0.0f && v[i] <= 1.0f;  // NaN fails both
  f.unit = unit;
  return f;
}

}  // namespace imix
