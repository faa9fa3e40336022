// The Tensor handle JS holds: a shared reference to a storage block on one
// device, plus dtype, shape, strides and an element offset, so modules can
// hold views into one flat parameter buffer. dispose() drops the storage
// reference at once; the JS finalizer drops it otherwise.
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../common/backend.h"
#include "../common/error.h"
#include "env.h"
#include "extent.h"

namespace imix {

enum class DType { F32, I32 };
inline const char* dtype_name(DType d) { return d == DType::F32 ? "float32" : "int32"; }
inline size_t dtype_size(DType) { return 4; }

// Parses "cpu", "cuda", "cuda:N" (syntax only; whether the device is
// usable is checked when memory is allocated on it). Throws a Device error
// naming `arg`.
Device parse_device(const std::string& s, const char* arg);

// What the addon knows about some elements of a storage without reading
// them (reading device memory costs a host synchronization): facts it
// established itself when it wrote them — an upload from a host array it
// scanned (copyFromArray), a fill, the zero-fill of a new storage, or a
// kernel whose output range is known by construction (maxout's and
// max-pool's argmax). The value checks of args.h (check_permutation,
// check_indices, check_unit_interval, the cross-entropy's target range)
// consult them first and read the tensor (HostData) only when they do not
// settle the check, so validating the training step's λ, π, indices and
// targets on CUDA costs no synchronization. Anything else may change the
// contents, so every pointer handed out for writing (Tensor::data()) forgets
// them for the whole storage; read-only operands are read through
// Tensor::read_data(), which keeps them.
struct ContentFacts {
  bool known = false;
  int64_t offset = 0, n = 0;  // the elements described: [offset, offset + n) of the storage
  int32_t lo = 0, hi = 0;     // read as int32: every value in [lo, hi] (when n > 0)
  bool permutation = false;   // read as int32: exactly a permutation of 0..n−1
  bool unit = false;          // read as float32: every value in [0, 1] (no NaN)
};

// One block of memory on one device (native/common/backend.h), shared by
// every view of it. `data` is a device pointer for CUDA storage. Its bytes
// (host or device alike) are reported to V8 as external memory while it
// lives, so the GC collects forgotten tensors before memory runs out.
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device;
  std::shared_ptr<ExternalMemory> memory;  // the creating environment's
  ContentFacts facts;  // (set by the constructor: zero-filled)
  // n elements of elem_size bytes, zero-filled; n is checked against
  // kMaxElems (a ShapeError naming `shape_arg`) before anything is allocated.
  Storage(Napi::Env env, int64_t n, size_t elem_size, Device dev, const char* shape_arg = "shape",
          const char* device_arg = "device");
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

class Tensor : public Napi::ObjectWrap<Tensor> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Tensor(const Napi::CallbackInfo& info);

  // A new JS Tensor sharing `base`'s storage (used for views and op outputs).
  static Napi::Object NewView(Napi::Env env, const std::shared_ptr<Storage>& storage, DType dtype,
                              std::vector<int64_t> shape, std::vector<int64_t> strides,
                              int64_t offset);
  static Napi::Object NewTensor(Napi::Env env, DType dtype, const std::vector<int64_t>& shape,
                                Device device);

  std::shared_ptr<Storage> storage;
  DType dtype = DType::F32;
  std::vector<int64_t> shape, strides;
  int64_t offset = 0;

  bool disposed() const { return !storage; }
  // Element count (Π shape; validated below kMaxElems when the tensor was made).
  int64_t numel() const;
  int64_t ndim() const { return (int64_t)shape.size(); }
  bool contiguous() const;
  Device device() const { return storage ? storage->device : Device{}; }
  int64_t storage_elems() const { return storage ? (int64_t)(storage->bytes / dtype_size(dtype)) : 0; }
  // The first element, for a kernel that may write it: the storage's
  // content facts are forgotten. A DisposedError if the storage is gone (a
  // disposal by user code that ran during the call, e.g. an array getter).
  void* data() const {
    if (!storage) fail(ErrorKind::Disposed, "tensor has been disposed");
    storage->facts.known = false;
    return (char*)storage->data + offset * (int64_t)dtype_size(dtype);
  }
  // The first element, for reading only (nothing may be written through
  // it): the content facts stay.
  const void* read_data() const {
    if (!storage) fail(ErrorKind::Disposed, "tensor has been disposed");
    return (const char*)storage->data + offset * (int64_t)dtype_size(dtype);
  }
  // The content facts about exactly this view's elements (a contiguous view
  // at the offset and of the size they were recorded for), or null.
  const ContentFacts* facts() const {
    if (!storage || !storage->facts.known || !contiguous()) return nullptr;
    const ContentFacts& f = storage->facts;
    return f.offset == offset && f.n == numel() ? &f : nullptr;
  }
  // Records facts about this (contiguous) view's elements, after the addon
  // wrote them; replaces the storage's previous facts. A strided view gets none.
  void set_facts(ContentFacts f) const {
    if (!storage || !contiguous()) return;
    f.known = true;
    f.offset = offset;
    f.n = numel();
    storage->facts = f;
  }
  std::string shape_str() const;

 private:
  Napi::Value GetDType(const Napi::CallbackInfo& info);
  Napi::Value GetShape(const Napi::CallbackInfo& info);
  Napi::Value GetStrides(const Napi::CallbackInfo& info);
  Napi::Value GetOffset(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value GetNumel(const Napi::CallbackInfo& info);
  Napi::Value GetContiguous(const Napi::CallbackInfo& info);
  Napi::Value GetStorageSize(const Napi::CallbackInfo& info);
  Napi::Value View(const Napi::CallbackInfo& info);
  Napi::Value CopyFromArray(const Napi::CallbackInfo& info);
  Napi::Value CopyToArray(const Napi::CallbackInfo& info);
  Napi::Value CopyFrom(const Napi::CallbackInfo& info);
  Napi::Value Fill(const Napi::CallbackInfo& info);
  Napi::Value SameStorage(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  void require_live(const char* what) const;
};

std::string shape_to_string(const std::vector<int64_t>& shape);
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape);

}  // namespace imix
