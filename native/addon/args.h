// Argument reading and validation for bound functions. Every failure throws
// imix::Error naming the argument, which guard() turns into a typed JS error.
#pragma once
#include <napi.h>

#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include "../cpu/kernels.h"
#include "extent.h"
#include "tensor.h"
#if IMIX_WITH_CUDA
#include "../cuda/kernels.h"
#endif

namespace imix {

// A (lo, hi) range of numbers, as Args::range reads it.
struct Range {
  double lo, hi;
};
// The Philox stream a random kernel draws from, as Args::philox reads it:
// the key and the counter offset.
struct PhiloxStream {
  uint64_t seed, offset;
};

class Args {
 public:
  explicit Args(const Napi::CallbackInfo& info) : info_(info) {}

  bool present(size_t i) const { return i < info_.Length() && !info_[i].IsUndefined() && !info_[i].IsNull(); }

  // A live Tensor; optional ones return nullptr when absent.
  Tensor* tensor(size_t i, const char* name) const {
    IMIX_CHECK(present(i), Argument, std::string(name) + ": expected a Tensor, got nothing");
    IMIX_CHECK(info_[i].IsObject(), Argument, std::string(name) + ": expected a Tensor");
    Napi::Object o = info_[i].As<Napi::Object>();
    Tensor* t = nullptr;
    napi_status st = napi_unwrap(info_.Env(), o, reinterpret_cast<void**>(&t));
    IMIX_CHECK(st == napi_ok && t != nullptr, Argument, std::string(name) + ": expected a Tensor");
    IMIX_CHECK(!t->disposed(), Disposed, std::string(name) + ": tensor has been disposed");
    if (n_seen_ < kMaxSeen) seen_[n_seen_++] = {t, name};
    return t;
  }
  // After reading a JS object's properties (which runs user code: getters),
  // checks that no tensor read so far was disposed by that code. Bindings
  // that read such properties do it before taking any data pointer.
  void still_live() const {
    for (size_t i = 0; i < n_seen_; ++i)
      IMIX_CHECK(!seen_[i].t->disposed(), Disposed, std::string(seen_[i].name) + ": tensor has been disposed");
  }
  Tensor* optional_tensor(size_t i, const char* name) const { return present(i) ? tensor(i, name) : nullptr; }

  double number(size_t i, const char* name) const {
    IMIX_CHECK(present(i) && info_[i].IsNumber(), Argument, std::string(name) + ": expected a number");
    double v = info_[i].As<Napi::Number>().DoubleValue();
    IMIX_CHECK(std::isfinite(v), Value, std::string(name) + ": expected a finite number, got " + std::to_string(v));
    return v;
  }
  double number_in(size_t i, const char* name, double lo, double hi) const {
    double v = number(i, name);
    IMIX_CHECK(v >= lo && v <= hi, Value,
               std::string(name) + ": " + std::to_string(v) + " is outside [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
    return v;
  }
  int64_t integer(size_t i, const char* name) const {
    double v = number(i, name);
    IMIX_CHECK(v == std::floor(v) && std::fabs(v) < 9007199254740992.0, Value,
               std::string(name) + ": expected an integer, got " + std::to_string(v));
    return (int64_t)v;
  }
  // Seeds and RNG offsets: non-negative integers up to 2^53.
  uint64_t u64(size_t i, const char* name) const {
    int64_t v = integer(i, name);
    IMIX_CHECK(v >= 0, Value, std::string(name) + ": expected a non-negative integer");
    return (uint64_t)v;
  }
  // A range: arguments i (lo_name) and i + 1 (hi_name), each a finite number
  // in [min, max] (number_in), then lo <= hi ("<hi_name>: <hi> is below
  // <lo_name> <lo>").
  Range range(size_t i, const char* lo_name, const char* hi_name, double min, double max) const;
  // A random kernel's (seed, offset): arguments i ("seed") and i + 1
  // ("offset"), each a non-negative integer below 2^53 (u64).
  PhiloxStream philox(size_t i) const;
  bool boolean(size_t i, const char* name) const {
    IMIX_CHECK(present(i) && info_[i].IsBoolean(), Argument, std::string(name) + ": expected a boolean");
    return info_[i].As<Napi::Boolean>().Value();
  }
  bool boolean_or(size_t i, const char* name, bool dflt) const { return present(i) ? boolean(i, name) : dflt; }
  Napi::Value raw(size_t i) const { return info_[i]; }

 private:
  struct Seen {
    const Tensor* t;
    const char* name;
  };
  static constexpr size_t kMaxSeen = 16;  // more operands than any binding has
  const Napi::CallbackInfo& info_;
  mutable Seen seen_[kMaxSeen] = {};
  mutable size_t n_seen_ = 0;
};

// ---- tensor expectations (all name the argument) ----
inline void expect_dtype(const Tensor* t, DType d, const char* name) {
  IMIX_CHECK(t->dtype == d, DType,
             std::string(name) + ": expected " + dtype_name(d) + ", got " + dtype_name(t->dtype));
}
inline void expect_contiguous(const Tensor* t, const char* name) {
  IMIX_CHECK(t->contiguous(), Shape, std::string(name) + ": expected a contiguous tensor, got a strided view");
}
inline void expect_ndim(const Tensor* t, int64_t nd, const char* name) {
  IMIX_CHECK(t->ndim() == nd, Shape,
             std::string(name) + ": expected " + std::to_string(nd) + " dimensions, got shape " + t->shape_str());
}
// Shape with -1 as "any".
inline void expect_shape(const Tensor* t, const std::vector<int64_t>& want, const char* name) {
  bool ok = t->ndim() == (int64_t)want.size();
  for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || want[i] == t->shape[i];
  if (!ok) {
    std::string w = "[";
    for (size_t i = 0; i < want.size(); ++i)
      w += (i ? ", " : "") + (want[i] < 0 ? std::string("*") : std::to_string(want[i]));
    fail(ErrorKind::Shape, std::string(name) + ": expected shape " + w + "], got " + t->shape_str());
  }
}
inline void expect_numel(const Tensor* t, int64_t n, const char* name) {
  IMIX_CHECK(t->numel() == n, Shape,
             std::string(name) + ": expected " + std::to_string(n) + " elements, got shape " + t->shape_str());
}
// Elementwise ops over flat buffers: any shapes, one element count.
inline void expect_same_numel(const Tensor* t, const Tensor* ref, const char* name, const char* refname) {
  IMIX_CHECK(t->numel() == ref->numel(), Shape,
             std::string(name) + ": shape " + t->shape_str() + " does not match " + refname + " " + ref->shape_str());
}
inline void expect_same_device(const Tensor* t, const Tensor* ref, const char* name, const char* refname) {
  IMIX_CHECK(t->device() == ref->device(), Device,
             std::string(name) + ": on " + t->device().str() + " but " + refname + " is on " + ref->device().str());
}
inline void expect_cpu(const Tensor* t, const char* name) {
  IMIX_CHECK(t->device().type == Device::CPU, Device,
             std::string(name) + ": on " + t->device().str() + ", this operation runs on cpu tensors only");
}

// The device a binding runs on: that of its reference operand, after every
// other operand was checked to be on the same one (expect_same_device).
// Constructing it makes the device current (cudaSetDevice), so kernels
// issued next go to that device's stream.
struct Dispatch {
  Device dev;
  Dispatch(const Tensor* t, const char* name) : dev(t->device()) { backend_for(dev, name); }
  bool cuda() const { return dev.type == Device::CUDA; }
};

// IMIX_KERNEL(dev, fn, args...): cuda::fn(args...) for a CUDA dispatch,
// cpu::fn(args...) otherwise. Both have the same signature
// (native/cpu/kernels.h, native/cuda/kernels.h).
#if IMIX_WITH_CUDA
#define IMIX_KERNEL(d, fn, ...) ((d).cuda() ? ::imix::cuda::fn(__VA_ARGS__) : ::imix::cpu::fn(__VA_ARGS__))
#else
#define IMIX_KERNEL(d, fn, ...) ((void)(d), ::imix::cpu::fn(__VA_ARGS__))
#endif

// A host-readable view of a (small, contiguous) tensor for the value checks
// below: a CPU tensor's own memory, or for a CUDA tensor a host copy (one
// device→host copy, which waits for the stream: one synchronization). The
// checks use it only when the tensor's content facts (tensor.h) do not
// settle them. t may be null.
template <class T>
class HostData {
 public:
  explicit HostData(const Tensor* t) {
    if (!t) return;
    if (t->device().type == Device::CPU) {
      p_ = (const T*)t->read_data();
      return;
    }
    buf_.resize((size_t)t->numel());
    backend_for(t->device()).copy_to_host(buf_.data(), t->read_data(), buf_.size() * sizeof(T));
    p_ = buf_.data();
  }
  const T* get() const { return p_; }

 private:
  std::vector<T> buf_;
  const T* p_ = nullptr;
};
// A float32, contiguous tensor (the common case for kernel operands).
inline float* f32(Tensor* t, const char* name) {
  expect_dtype(t, DType::F32, name);
  expect_contiguous(t, name);
  return (float*)t->data();
}
inline int32_t* i32(Tensor* t, const char* name) {
  expect_dtype(t, DType::I32, name);
  expect_contiguous(t, name);
  return (int32_t*)t->data();
}
// A 2-D float32 operand whose rows may lie apart: unit stride along a row,
// row stride ld ≥ cols (a column block of a bigger matrix, or rows padded to
// an aligned width, as MoCo's logits). Row i is p[i·ld .. i·ld + cols). ld is
// the tensor's row stride when it has two rows or more, else cols (a lone
// row's stride is never used), and at least 1 (BLAS's rule). gemm's operands
// and the cross-entropy's logits. A ShapeError naming the argument for
// anything else: another rank (expect_ndim's message), a non-unit column
// stride, rows that overlap (ld < cols), a view reaching past its storage.
struct RowMatrix {
  Tensor* t;
  float* p;
  int64_t rows, cols, ld;
  bool empty() const { return rows == 0 || cols == 0; }
  // The storage elements [begin, end) the rows span, the gaps after all but
  // the last row included (end = begin when empty).
  int64_t begin() const { return t->offset; }
  int64_t end() const {
    if (empty()) return begin();
    return checked_add(checked_add(t->offset, checked_mul(rows - 1, ld, "shape"), "shape"), cols, "shape");
  }
};
RowMatrix row_matrix_f32(Tensor* t, const char* name);

// The same with the shape checked too (after dtype and contiguity; -1 in
// shape: any size).
inline float* f32(Tensor* t, const std::vector<int64_t>& shape, const char* name) {
  float* p = f32(t, name);
  expect_shape(t, shape, name);
  return p;
}
inline int32_t* i32(Tensor* t, const std::vector<int64_t>& shape, const char* name) {
  int32_t* p = i32(t, name);
  expect_shape(t, shape, name);
  return p;
}
// An optional operand (t null when the caller passed none): its data, or
// nullptr for the kernel, which reads nullptr as "not given".
inline float* f32_opt(Tensor* t, const std::vector<int64_t>& shape, const char* name) {
  return t ? f32(t, shape, name) : nullptr;
}
inline int32_t* i32_opt(Tensor* t, const std::vector<int64_t>& shape, const char* name) {
  return t ? i32(t, shape, name) : nullptr;
}
// Read-only operands whose contents a value check reads (λ, π, indices,
// targets, argmax): the same checks, but a const pointer that keeps the
// storage's content facts (f32()/i32() hand out a writable pointer, which
// forgets them).
inline const float* f32_in(const Tensor* t, const std::vector<int64_t>& shape, const char* name) {
  expect_dtype(t, DType::F32, name);
  expect_contiguous(t, name);
  expect_shape(t, shape, name);
  return (const float*)t->read_data();
}
inline const int32_t* i32_in(const Tensor* t, const char* name) {
  expect_dtype(t, DType::I32, name);
  expect_contiguous(t, name);
  return (const int32_t*)t->read_data();
}
inline const int32_t* i32_in(const Tensor* t, const std::vector<int64_t>& shape, const char* name) {
  const int32_t* p = i32_in(t, name);
  expect_shape(t, shape, name);
  return p;
}
inline const float* f32_in_opt(const Tensor* t, const std::vector<int64_t>& shape, const char* name) {
  return t ? f32_in(t, shape, name) : nullptr;
}
inline const int32_t* i32_in_opt(const Tensor* t, const std::vector<int64_t>& shape, const char* name) {
  return t ? i32_in(t, shape, name) : nullptr;
}
// For bindings that check each operand fully before the next one: dtype,
// contiguity, shape, then ref's device. t may be null (optional operand).
inline float* f32_on(Tensor* t, const std::vector<int64_t>& shape, const Tensor* ref, const char* name,
                     const char* refname) {
  float* p = f32_opt(t, shape, name);
  if (t) expect_same_device(t, ref, name, refname);
  return p;
}

// An operand and the name the JS caller knows it by, for the checks below
// that look at several operands at once. A null tensor is an absent optional
// operand and is skipped. Lists are checked in order, so for an input with
// several problems the first operand listed is the one reported.
struct Named {
  const Tensor* t;
  const char* name;
};
// Every operand in ts is on ref's device.
inline void expect_same_device(std::initializer_list<Named> ts, const Tensor* ref, const char* refname) {
  for (const Named& n : ts)
    if (n.t) expect_same_device(n.t, ref, n.name, refname);
}

// One past the last storage element a (live, valid) view touches, or its
// offset when it is empty: offset + numel for a contiguous view; for a
// strided one (row_matrix_f32's operands) the whole span of its rows, the
// gaps between them included, so the overlap checks below stay conservative.
inline int64_t span_end(const Tensor* t) {
  if (t->contiguous()) return t->offset + t->numel();
  const int64_t last = view_extent(t->shape, t->strides, t->offset, "tensor");
  return last < 0 ? t->offset : last + 1;
}

// Two operands that must not share memory (an out-of-place kernel's input and output).
inline void expect_no_alias(const Tensor* a, const Tensor* b, const char* an, const char* bn) {
  if (a->storage != b->storage) return;
  int64_t a0 = a->offset, a1 = span_end(a);
  int64_t b0 = b->offset, b1 = span_end(b);
  IMIX_CHECK(a1 <= b0 || b1 <= a0, Value,
             std::string(an) + " and " + bn + " overlap in memory; this operation is out of place");
}
// An output (nullptr: not requested) that must not overlap any of others.
inline void expect_no_alias(const Tensor* out, const char* name, std::initializer_list<Named> others) {
  if (!out) return;
  for (const Named& n : others)
    if (n.t) expect_no_alias(out, n.t, name, n.name);
}
// dst may be exactly src (in place: same storage, start and size) or must
// not overlap it at all; a partial overlap would read what was just written.
inline void expect_same_or_no_alias(const Tensor* dst, const Tensor* src, const char* dn, const char* sn) {
  if (dst->storage == src->storage && dst->offset == src->offset && dst->numel() == src->numel()) return;
  expect_no_alias(dst, src, dn, sn);
}
// The operands of a batched view kernel (augment, color, signal views):
// x float32, contiguous, of rank `rank` (`need` says so in the error:
// "random resized crop needs spatial [N, C, H, W] data"); out float32 of
// x's shape on x's device; `in_place`: out may be x itself, otherwise the
// two may not overlap. Returns the device to run on.
inline Dispatch batch_pair(Tensor* x, Tensor* out, int64_t rank, const char* need, bool in_place, const float** xp,
                           float** op) {
  *xp = f32(x, "x");
  IMIX_CHECK(x->ndim() == rank, Shape, std::string("x: ") + need + ", got shape " + x->shape_str());
  *op = f32(out, x->shape, "out");
  expect_same_device(out, x, "out", "x");
  const Dispatch dev(x, "x");
  if (in_place)
    expect_same_or_no_alias(x, out, "x", "out");
  else
    expect_no_alias(x, out, "x", "out");
  return dev;
}
// Operands marked as outputs (written by the kernel) must not overlap any
// other operand; inputs may share memory with each other. Pairs are checked
// in list order (ops[0] with each later one, then ops[1], ...).
struct Operand {
  const Tensor* t;  // nullptr: an absent optional operand
  const char* name;
  bool out;
};
inline void expect_disjoint(std::initializer_list<Operand> ops) {
  for (auto i = ops.begin(); i != ops.end(); ++i)
    for (auto j = i + 1; j != ops.end(); ++j)
      if (i->t && j->t && (i->out || j->out)) expect_no_alias(i->t, j->t, i->name, j->name);
}

// Host-side checks on index/weight vectors (host pointers: HostData).
// perm must be a permutation of 0..N-1.
void check_permutation(const int32_t* perm, int64_t N, const char* name);
// Every value in [lo, hi) .
void check_indices(const int32_t* idx, int64_t n, int64_t lo, int64_t hi, const char* name);
// Every λ finite and in [0, 1].
void check_unit_interval(const float* v, int64_t n, const char* name);
// Content facts (tensor.h) of n values as the addon writes them from the
// host: their int32 range and whether they are a permutation of 0..n−1, or
// whether every float32 lies in [0, 1].
ContentFacts facts_of_i32(const int32_t* v, int64_t n);
ContentFacts facts_of_f32(const float* v, int64_t n);
// Arrays longer than this get no facts from copyFromArray (the scan and the
// private copy it needs are only worth it for the small vectors the checks
// read; the training data itself is never checked this way).
constexpr int64_t kFactsMaxElems = int64_t{1} << 20;
// Whether t's content facts alone show that its values (read as int32) all
// lie in [lo, hi).
inline bool facts_in_range(const Tensor* t, int64_t lo, int64_t hi) {
  const ContentFacts* f = t->facts();
  return f && (f->n == 0 || ((int64_t)f->lo >= lo && (int64_t)f->hi < hi));
}
// The same on a tensor already checked for dtype, shape and device (its
// first n values); a null tensor (an absent optional operand) passes. Its
// content facts settle the check when they can (no device read); otherwise
// it is read through HostData (on CUDA: one synchronization).
inline void check_permutation(const Tensor* perm, int64_t N, const char* name) {
  if (!perm) return;
  if (const ContentFacts* f = perm->facts(); f && f->permutation && f->n == N) return;
  check_permutation(HostData<int32_t>(perm).get(), N, name);
}
inline void check_indices(const Tensor* idx, int64_t n, int64_t lo, int64_t hi, const char* name) {
  if (!idx) return;
  if (idx->numel() == n && facts_in_range(idx, lo, hi)) return;
  check_indices(HostData<int32_t>(idx).get(), n, lo, hi, name);
}
inline void check_unit_interval(const Tensor* v, int64_t n, const char* name) {
  if (!v) return;
  if (const ContentFacts* f = v->facts(); f && f->unit && f->n == n) return;
  check_unit_interval(HostData<float>(v).get(), n, name);
}

}  // namespace imix
