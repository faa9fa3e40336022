// The CPU side of the backend interface (native/common/backend.h): 64-byte
// aligned host blocks (vector loads), plain memcpy/memmove/fill loops.
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "../common/backend.h"

namespace imix {
namespace {

class CpuBackend final : public Backend {
 public:
  Device::Type type() const override { return Device::CPU; }

  void* allocate(size_t bytes) override {
    // aligned_alloc wants a multiple of the alignment.
    size_t rounded = ((bytes + 63) / 64) * 64;
    if (rounded == 0) rounded = 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, rounded);
    return p;
  }
  void deallocate(void* p, size_t, int) noexcept override { std::free(p); }
  void copy_from_host(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy_to_host(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }

  void fill32(void* dst, uint32_t bits, int64_t n) override {
    uint32_t* p = (uint32_t*)dst;
    for (int64_t i = 0; i < n; ++i) p[i] = bits;
  }

  void fill32_strided(void* base, uint32_t bits, const int64_t* shape, const int64_t* strides,
                      int ndim) override {
    uint32_t* p = (uint32_t*)base;
    for (int k = 0; k < ndim; ++k)
      if (shape[k] == 0) return;
    // Odometer over the index tuple, last dimension fastest.
    std::vector<int64_t> idx((size_t)ndim, 0);
    for (;;) {
      int64_t off = 0;
      for (int k = 0; k < ndim; ++k) off += idx[(size_t)k] * strides[k];
      p[off] = bits;
      int k = ndim;
      while (k > 0) {
        --k;
        if (++idx[(size_t)k] < shape[k]) break;
        idx[(size_t)k] = 0;
        if (k == 0) return;
      }
      if (ndim == 0) return;
    }
  }

  void synchronize() override {}
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend b;
  return b;
}

}  // namespace imix
