// Overflow-checked sizes and extents: the one place the addon multiplies
// dimensions, strides and element sizes. Every shape, stride, view and
// storage-size check goes through these (parse_shape, Tensor::View, numel,
// storage bytes, the bindings' derived dimensions), so a product that does
// not fit int64 is a ShapeError naming the argument, never a wrapped number
// that slips past a bound check (issue 11: a view of shape [2^24 + 1] with
// stride 2^39 wrapped (shape - 1)·stride negative and passed).
//
// The limits: a tensor holds fewer than kMaxElems = 2^40 elements, and so
// does the extent Π max(d, 1) of any shape (an empty tensor's other
// dimensions count too: kernels loop over them); a storage block is at most
// kMaxElems elements (4 TiB of float32), checked before anything is
// allocated; a view addresses only elements of its storage and no more
// elements than the storage holds (overlapping or zero strides cannot make
// a small block look huge).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../common/error.h"

namespace imix {

// Elements in one tensor or storage block, and the extent Π max(d, 1) of a shape.
constexpr int64_t kMaxElems = int64_t(1) << 40;

// a·b and a + b, or false when the result does not fit int64.
inline bool mul_fits(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool add_fits(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

// a·b, a + b: a ShapeError naming `arg` when the result does not fit int64.
inline int64_t checked_mul(int64_t a, int64_t b, const char* arg) {
  int64_t r;
  IMIX_CHECK(mul_fits(a, b, &r), Shape,
             std::string(arg) + ": size overflows (" + std::to_string(a) + " x " + std::to_string(b) + ")");
  return r;
}
inline int64_t checked_add(int64_t a, int64_t b, const char* arg) {
  int64_t r;
  IMIX_CHECK(add_fits(a, b, &r), Shape,
             std::string(arg) + ": size overflows (" + std::to_string(a) + " + " + std::to_string(b) + ")");
  return r;
}

// Element count Π d of a shape of non-negative dimensions; a ShapeError
// naming `arg` when it reaches kMaxElems. Never overflows: the running
// product stays below kMaxElems, and every dimension is checked before it is
// multiplied in.
inline int64_t checked_numel(const std::vector<int64_t>& shape, const char* arg) {
  int64_t n = 1;
  for (int64_t d : shape) {
    IMIX_CHECK(d >= 0, Shape, std::string(arg) + ": negative dimension " + std::to_string(d));
    if (d == 0) return 0;
  }
  for (int64_t d : shape) {
    IMIX_CHECK(mul_fits(n, d, &n) && n < kMaxElems, Shape,
               std::string(arg) + ": tensor too large (" + std::to_string(shape.size()) +
                   " dimensions; at most 2^40 elements)");
  }
  return n;
}

// The extent Π max(d, 1): what kernels iterate over even when a dimension
// is 0. Checked like checked_numel.
inline int64_t checked_extent(const std::vector<int64_t>& shape, const char* arg) {
  int64_t n = 1;
  for (int64_t d : shape) {
    IMIX_CHECK(d >= 0, Shape, std::string(arg) + ": negative dimension " + std::to_string(d));
    IMIX_CHECK(mul_fits(n, d == 0 ? 1 : d, &n) && n < kMaxElems, Shape,
               std::string(arg) + ": tensor too large (at most 2^40 elements, empty dimensions counted as 1)");
  }
  return n;
}

// Bytes of n elements of elem_size bytes, n in [0, kMaxElems]: a ShapeError
// naming `arg` otherwise (before anything is allocated).
inline size_t checked_bytes(int64_t n, size_t elem_size, const char* arg) {
  IMIX_CHECK(n >= 0 && n <= kMaxElems, Shape,
             std::string(arg) + ": " + std::to_string(n) + " elements is more than a storage block holds (2^40)");
  return (size_t)checked_mul(n, (int64_t)elem_size, arg);
}

// The largest element index a (shape, strides, offset) view touches:
// offset + Σ (d_i − 1)·s_i, or −1 when the view is empty. Dimensions and
// strides are non-negative (parse_shape). A sum that does not fit int64 is a
// ShapeError naming `arg` (such a view could never lie inside a storage block).
inline int64_t view_extent(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int64_t offset,
                           const char* arg) {
  IMIX_CHECK(shape.size() == strides.size(), Shape,
             std::string(arg) + ": " + std::to_string(strides.size()) + " strides for " +
                 std::to_string(shape.size()) + " dimensions");
  for (int64_t d : shape)
    if (d == 0) return -1;
  int64_t m = offset;
  for (size_t i = 0; i < shape.size(); ++i) {
    IMIX_CHECK(shape[i] > 0 && strides[i] >= 0, Shape,
               std::string(arg) + ": negative dimension or stride in dimension " + std::to_string(i));
    int64_t step;
    IMIX_CHECK(mul_fits(shape[i] - 1, strides[i], &step) && add_fits(m, step, &m), Shape,
               std::string(arg) + ": the view's last element index overflows int64 (dimension " + std::to_string(i) +
                   ": " + std::to_string(shape[i]) + " x stride " + std::to_string(strides[i]) + ")");
  }
  return m;
}

}  // namespace imix
