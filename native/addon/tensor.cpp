#include "tensor.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "args.h"
#include "errors.h"

namespace imix {

Device parse_device(const std::string& s, const char* arg) {
  Device d;
  if (s == "cpu") return d;
  if (s == "cuda" || s.rfind("cuda:", 0) == 0) {
    d.type = Device::CUDA;
    if (s.size() > 5) {
      char* end = nullptr;
      long idx = std::strtol(s.c_str() + 5, &end, 10);
      if (*end != '\0' || idx < 0 || s.size() == 5)
        fail(ErrorKind::Device, std::string(arg) + ": malformed device '" + s + "' (use 'cpu', 'cuda' or 'cuda:N')");
      IMIX_CHECK(idx < 1024, Device, std::string(arg) + ": malformed device '" + s + "' (device index too large)");
      d.index = (int)idx;
    }
    return d;
  }
  fail(ErrorKind::Device, std::string(arg) + ": unknown device '" + s + "' (use 'cpu', 'cuda' or 'cuda:N')");
}

Storage::Storage(Napi::Env env, int64_t n, size_t elem_size, Device dev, const char* shape_arg,
                 const char* device_arg)
    : bytes(checked_bytes(n, elem_size, shape_arg)), device(dev), memory(env_data(env).memory) {
  data = backend_for(dev, device_arg).allocate(bytes);  // zero-filled, ≥ 64-byte aligned
  memory->adjust((int64_t)bytes);
  // Zero bits: int32 0 and float32 +0 alike.
  facts.known = true;
  facts.n = (int64_t)(bytes / elem_size);
  facts.permutation = facts.n == 1;
  facts.unit = true;
}

Storage::~Storage() {
  // No device switch here: this may run from a finalizer during another call.
  if (Backend* b = backend_of_type(device.type)) b->deallocate(data, bytes, device.index);
  // A no-op once the environment is being torn down (ExternalMemory).
  memory->adjust(-(int64_t)bytes);
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> st(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = s;
    s = checked_mul(s, shape[i], "shape");
  }
  return st;
}

int64_t Tensor::numel() const { return checked_numel(shape, "shape"); }

bool Tensor::contiguous() const {
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != s) return false;
    s *= shape[i];
  }
  return true;
}

std::string Tensor::shape_str() const { return shape_to_string(shape); }

void Tensor::require_live(const char* what) const {
  if (!storage) fail(ErrorKind::Disposed, std::string(what) + ": tensor has been disposed");
}

namespace {

struct ViewInit {
  std::shared_ptr<Storage> storage;
  DType dtype;
  std::vector<int64_t> shape, strides;
  int64_t offset;
};

// Up to 8 non-negative integers below kMaxElems (dimensions or strides).
// The array's length is read once: an element getter (user code) may grow
// the array while it is read.
std::vector<int64_t> parse_dims(Napi::Value v, const char* arg, const char* what) {
  IMIX_CHECK(v.IsArray(), Argument, std::string(arg) + ": expected an array of " + what);
  Napi::Array a = v.As<Napi::Array>();
  const uint32_t len = a.Length();
  IMIX_CHECK(len <= 8, Shape, std::string(arg) + ": at most 8 dimensions are supported");
  std::vector<int64_t> s(len);
  for (uint32_t i = 0; i < len; ++i) {
    Napi::Value d = a.Get(i);
    IMIX_CHECK(d.IsNumber(), Argument, std::string(arg) + "[" + std::to_string(i) + "]: expected a number");
    double x = d.As<Napi::Number>().DoubleValue();
    IMIX_CHECK(x >= 0 && x < (double)kMaxElems && x == (double)(int64_t)x, Shape,
               std::string(arg) + "[" + std::to_string(i) + "]: expected a non-negative integer below 2^40, got " +
                   std::to_string(x));
    s[i] = (int64_t)x;
  }
  return s;
}

// A shape: its extent Π max(d, 1) is below kMaxElems (checked_extent).
std::vector<int64_t> parse_shape(Napi::Value v, const char* arg) {
  std::vector<int64_t> s = parse_dims(v, arg, "dimensions");
  checked_extent(s, arg);
  return s;
}

DType parse_dtype(Napi::Value v, const char* arg) {
  IMIX_CHECK(v.IsString(), Argument, std::string(arg) + ": expected 'float32' or 'int32'");
  std::string s = v.As<Napi::String>();
  if (s == "float32") return DType::F32;
  if (s == "int32") return DType::I32;
  fail(ErrorKind::DType, std::string(arg) + ": unsupported dtype '" + s + "' (use 'float32' or 'int32')");
}
}  // namespace

Napi::Function Tensor::Init(Napi::Env env) {
  Napi::Function f = DefineClass(
      env, "Tensor",
      {InstanceAccessor<&Tensor::GetDType>("dtype"), InstanceAccessor<&Tensor::GetShape>("shape"),
       InstanceAccessor<&Tensor::GetStrides>("strides"), InstanceAccessor<&Tensor::GetOffset>("offset"),
       InstanceAccessor<&Tensor::GetDevice>("device"), InstanceAccessor<&Tensor::GetDisposed>("disposed"),
       InstanceAccessor<&Tensor::GetNumel>("numel"), InstanceAccessor<&Tensor::GetContiguous>("contiguous"),
       InstanceAccessor<&Tensor::GetStorageSize>("storageSize"), InstanceMethod<&Tensor::View>("view"),
       InstanceMethod<&Tensor::CopyFromArray>("copyFromArray"),
       InstanceMethod<&Tensor::CopyToArray>("copyToArray"), InstanceMethod<&Tensor::CopyFrom>("copyFrom"),
       InstanceMethod<&Tensor::Fill>("fill"), InstanceMethod<&Tensor::SameStorage>("sameStorage"),
       InstanceMethod<&Tensor::Dispose>("dispose")});
  env_data(env).tensor_ctor = Napi::Persistent(f);  // per environment (worker threads)
  return f;
}

// new Tensor(dtype, shape, device)  — zero-filled; or internal: new Tensor(External<ViewInit>)
Tensor::Tensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tensor>(info) {
  guard(info, [this](const Napi::CallbackInfo& info) -> Napi::Value {
    if (info.Length() == 1 && info[0].IsExternal()) {
      ViewInit* v = info[0].As<Napi::External<ViewInit>>().Data();
      storage = v->storage;
      dtype = v->dtype;
      shape = std::move(v->shape);
      strides = std::move(v->strides);
      offset = v->offset;
      return info.Env().Undefined();
    }
    IMIX_CHECK(info.Length() >= 2, Argument, "Tensor: expected (dtype, shape, device?)");
    dtype = parse_dtype(info[0], "dtype");
    shape = parse_shape(info[1], "shape");
    strides = contiguous_strides(shape);
    Device dev;
    if (info.Length() >= 3 && !info[2].IsUndefined()) {
      IMIX_CHECK(info[2].IsString(), Argument, "device: expected a string such as 'cpu' or 'cuda:0'");
      dev = parse_device(info[2].As<Napi::String>(), "device");
    }
    storage = std::make_shared<Storage>(info.Env(), checked_numel(shape, "shape"), dtype_size(dtype), dev);
    return info.Env().Undefined();
  });
}

Napi::Object Tensor::NewView(Napi::Env env, const std::shared_ptr<Storage>& storage, DType dtype,
                             std::vector<int64_t> shape, std::vector<int64_t> strides, int64_t offset) {
  ViewInit v{storage, dtype, std::move(shape), std::move(strides), offset};
  return env_data(env).tensor_ctor.New({Napi::External<ViewInit>::New(env, &v)});
}

Napi::Object Tensor::NewTensor(Napi::Env env, DType dtype, const std::vector<int64_t>& shape, Device device) {
  checked_extent(shape, "shape");
  auto st = std::make_shared<Storage>(env, checked_numel(shape, "shape"), dtype_size(dtype), device);
  return NewView(env, st, dtype, shape, contiguous_strides(shape), 0);
}

static Napi::Array to_js_array(Napi::Env env, const std::vector<int64_t>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set((uint32_t)i, Napi::Number::New(env, (double)v[i]));
  return a;
}

Napi::Value Tensor::GetDType(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), dtype_name(dtype)); }
Napi::Value Tensor::GetShape(const Napi::CallbackInfo& info) { return to_js_array(info.Env(), shape); }
Napi::Value Tensor::GetStrides(const Napi::CallbackInfo& info) { return to_js_array(info.Env(), strides); }
Napi::Value Tensor::GetOffset(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)offset); }
Napi::Value Tensor::GetDevice(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), storage ? storage->device.str() : "disposed");
}
Napi::Value Tensor::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed()); }
Napi::Value Tensor::GetNumel(const Napi::CallbackInfo& info) {
  // numel() is checked (it cannot fail for a shape the addon accepted): an
  // accessor must not let a C++ exception escape.
  return guard(info, [this](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), (double)numel());
  });
}
Napi::Value Tensor::GetContiguous(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), contiguous()); }
Napi::Value Tensor::GetStorageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)storage_elems());
}

// view(offset, shape, strides?) — offset in elements, relative to this view.
// The view must lie inside the storage (its last element index computed with
// overflow checks: view_extent) and address no more elements than the
// storage holds, so no stride pattern (zero or overlapping strides) makes a
// small block look huge: the work of any op on a view is bounded by memory
// that was actually allocated.
Napi::Value Tensor::View(const Napi::CallbackInfo& info) {
  return guard(info, [this](const Napi::CallbackInfo& info) -> Napi::Value {
    require_live("view");
    Args a(info);
    int64_t off = a.integer(0, "offset");
    std::vector<int64_t> shp = parse_shape(info[1], "shape");
    const bool given = info.Length() >= 3 && !info[2].IsUndefined();
    std::vector<int64_t> st;
    if (given) {
      st = parse_dims(info[2], "strides", "strides");
      IMIX_CHECK(st.size() == shp.size(), Shape,
                 "strides: expected " + std::to_string(shp.size()) + " entries, got " + std::to_string(st.size()));
    } else {
      st = contiguous_strides(shp);
    }
    // Reading the arrays may have run user code (element getters) that disposed this tensor.
    require_live("view");
    const int64_t abs = checked_add(offset, off, "offset");  // |off| < 2^53, offset < 2^40
    IMIX_CHECK(abs >= 0, Value, "offset: view starts before the storage (offset " + std::to_string(off) + ")");
    const int64_t hi = view_extent(shp, st, abs, given ? "strides" : "shape");
    IMIX_CHECK(hi < storage_elems(), Shape,
               "shape: view " + shape_to_string(shp) + " at offset " + std::to_string(off) +
                   " reaches element " + std::to_string(hi) + " of a storage of " +
                   std::to_string(storage_elems()) + " elements");
    const int64_t n = checked_numel(shp, "shape");
    IMIX_CHECK(n <= storage_elems(), Shape,
               "strides: view " + shape_to_string(shp) + " with strides " + shape_to_string(st) + " addresses " +
                   std::to_string(n) + " elements, more than its storage holds (" + std::to_string(storage_elems()) +
                   "): zero or overlapping strides");
    return NewView(info.Env(), storage, dtype, shp, st, abs);
  });
}

static void check_array_matches(const Tensor& t, const Napi::TypedArray& arr, const char* arg) {
  napi_typedarray_type want = t.dtype == DType::F32 ? napi_float32_array : napi_int32_array;
  IMIX_CHECK(arr.TypedArrayType() == want, DType,
             std::string(arg) + ": expected a " + (t.dtype == DType::F32 ? "Float32Array" : "Int32Array") +
                 " for a " + dtype_name(t.dtype) + " tensor");
  IMIX_CHECK((int64_t)arr.ElementLength() == t.numel(), Shape,
             std::string(arg) + ": has " + std::to_string(arr.ElementLength()) + " elements, tensor " +
                 t.shape_str() + " has " + std::to_string(t.numel()));
  IMIX_CHECK(t.contiguous(), Shape, std::string(arg) + ": tensor is a non-contiguous view");
}

// The first element of a typed array (over an ArrayBuffer or a
// SharedArrayBuffer alike; node-addon-api's ArrayBuffer() rejects the latter).
static void* typed_data(const Napi::TypedArray& arr) {
  void* data = nullptr;
  napi_status st = napi_get_typedarray_info(arr.Env(), arr, nullptr, nullptr, &data, nullptr, nullptr);
  IMIX_CHECK(st == napi_ok, Argument, "expected a typed array");
  return data;
}

Napi::Value Tensor::CopyFromArray(const Napi::CallbackInfo& info) {
  return guard(info, [this](const Napi::CallbackInfo& info) -> Napi::Value {
    require_live("copyFromArray");
    IMIX_CHECK(info.Length() >= 1 && info[0].IsTypedArray(), Argument, "source: expected a typed array");
    Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
    check_array_matches(*this, arr, "source");
    // CUDA: through a pinned staging buffer; returns before the device copy ends.
    const size_t bytes = checked_bytes(numel(), dtype_size(dtype), "source");
    if (bytes == 0) return info.This();
    Backend& be = backend_for(device());
    void* dst = data();  // forgets the storage's content facts
    const int64_t n = numel();
    if (n > kFactsMaxElems) {
      be.copy_from_host(dst, typed_data(arr), bytes);
      return info.This();
    }
    // Small arrays (λ, π, batch indices, targets): the facts the value
    // checks need, from a private copy (a SharedArrayBuffer may change under
    // us between a scan and the upload), which is what gets uploaded.
    std::vector<uint32_t> tmp((size_t)n);
    std::memcpy(tmp.data(), typed_data(arr), bytes);
    const ContentFacts f = dtype == DType::I32 ? facts_of_i32((const int32_t*)tmp.data(), n)
                                               : facts_of_f32((const float*)tmp.data(), n);
    be.copy_from_host(dst, tmp.data(), bytes);
    set_facts(f);
    return info.This();
  });
}

Napi::Value Tensor::CopyToArray(const Napi::CallbackInfo& info) {
  return guard(info, [this](const Napi::CallbackInfo& info) -> Napi::Value {
    require_live("copyToArray");
    IMIX_CHECK(info.Length() >= 1 && info[0].IsTypedArray(), Argument, "target: expected a typed array");
    Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
    check_array_matches(*this, arr, "target");
    // CUDA: waits for the stream, then copies out through a pinned staging buffer.
    const size_t bytes = checked_bytes(numel(), dtype_size(dtype), "target");
    if (bytes > 0) backend_for(device()).copy_to_host(typed_data(arr), read_data(), bytes);
    return info[0];
  });
}

Napi::Value Tensor::CopyFrom(const Napi::CallbackInfo& info) {
  return guard(info, [this](const Napi::CallbackInfo& info) -> Napi::Value {
    require_live("copyFrom");
    Args a(info);
    Tensor* src = a.tensor(0, "source");
    IMIX_CHECK(src->dtype == dtype, DType,
               std::string("source: dtype ") + dtype_name(src->dtype) + " does not match " + dtype_name(dtype));
    IMIX_CHECK(src->numel() == numel(), Shape,
               "source: shape " + src->shape_str() + " has a different element count than " + shape_str());
    IMIX_CHECK(src->device() == device(), Device, "source: on " + src->device().str() + ", target on " + device().str());
    IMIX_CHECK(src->contiguous() && contiguous(), Shape, "source: both tensors must be contiguous");
    const size_t bytes = checked_bytes(numel(), dtype_size(dtype), "source");
    if (bytes > 0) backend_for(device()).copy(data(), src->read_data(), bytes);
    return info.This();
  });
}

// fill(value): any view, strided ones included (e.g. a matrix diagonal).
Napi::Value Tensor::Fill(const Napi::CallbackInfo& info) {
  return guard(info, [this](const Napi::CallbackInfo& info) -> Napi::Value {
    require_live("fill");
    // Any float, NaN and ±Inf included (masks, tests); int32 needs an int32.
    IMIX_CHECK(info.Length() >= 1 && info[0].IsNumber(), Argument, "value: expected a number");
    double v = info[0].As<Napi::Number>().DoubleValue();
    uint32_t bits;
    if (dtype == DType::F32) {
      float fv = (float)v;
      std::memcpy(&bits, &fv, sizeof bits);
    } else {
      IMIX_CHECK(v >= -2147483648.0 && v <= 2147483647.0 && v == (double)(int32_t)v, Value,
                 "value: not an int32 for an int32 tensor");
      int32_t iv = (int32_t)v;
      std::memcpy(&bits, &iv, sizeof bits);
    }
    Backend& be = backend_for(device());
    if (contiguous()) {
      if (numel() > 0) be.fill32(data(), bits, numel());
      // One value everywhere: its facts (for a constant int32 target vector, say).
      ContentFacts f;
      if (dtype == DType::I32) {
        f.lo = f.hi = (int32_t)v;
        f.permutation = numel() == 1 && v == 0.0;
      } else {
        const float fv = (float)v;  // what was written
        f.unit = fv >= 0.0f && fv <= 1.0f;
      }
      set_facts(f);
    } else {
      be.fill32_strided(data(), bits, shape.data(), strides.data(), (int)shape.size());
    }
    return info.This();
  });
}

Napi::Value Tensor::SameStorage(const Napi::CallbackInfo& info) {
  return guard(info, [this](const Napi::CallbackInfo& info) -> Napi::Value {
    Args a(info);
    Tensor* o = a.tensor(0, "other");
    return Napi::Boolean::New(info.Env(), storage && storage == o->storage);
  });
}

Napi::Value Tensor::Dispose(const Napi::CallbackInfo& info) {
  storage.reset();
  return info.Env().Undefined();
}

}  // namespace imix
