#include "errors.h"

#include <new>

namespace imix {

namespace {
// One constructor per ErrorKind, in enum order.
Napi::FunctionReference g_classes[7];
const char* kCodes[7] = {"IMIX_ARGUMENT", "IMIX_SHAPE",    "IMIX_DTYPE",  "IMIX_DEVICE",
                         "IMIX_VALUE",    "IMIX_DISPOSED", "IMIX_BACKEND"};
}  // namespace

void set_error_classes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(env, "setErrorClasses: expected an object of constructors");
  Napi::Object o = info[0].As<Napi::Object>();
  const char* names[7] = {"ArgumentError", "ShapeError",    "DTypeError",  "DeviceError",
                          "ValueError",    "DisposedError", "BackendError"};
  for (int i = 0; i < 7; ++i) {
    Napi::Value v = o.Get(names[i]);
    if (!v.IsFunction())
      throw Napi::TypeError::New(env, std::string("setErrorClasses: missing ") + names[i]);
    g_classes[i] = Napi::Persistent(v.As<Napi::Function>());
    g_classes[i].SuppressDestruct();  // lives as long as the process
  }
}

void throw_js(Napi::Env env, ErrorKind kind, const std::string& msg) {
  int k = (int)kind;
  if (!g_classes[k].IsEmpty()) {
    Napi::Object err = g_classes[k].New({Napi::String::New(env, msg)});
    throw Napi::Error(env, err);
  }
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, kCodes[k]));
  throw e;
}

Napi::Value guard(const Napi::CallbackInfo& info,
                  const std::function<Napi::Value(const Napi::CallbackInfo&)>& body) {
  Napi::Env env = info.Env();
  try {
    return body(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throw_js(env, e.kind, e.what());
  } catch (const std::bad_alloc&) {
    throw_js(env, ErrorKind::Backend, "out of memory");
  } catch (const std::exception& e) {
    throw_js(env, ErrorKind::Backend, std::string("internal error: ") + e.what());
  }
}

void bind(Napi::Env env, Napi::Object exports, const char* name, Binding fn) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [fn](const Napi::CallbackInfo& info) -> Napi::Value {
                          return guard(info, fn);
                        },
                        name));
}

}  // namespace imix
