#include "errors.h"

#include <new>

#include "env.h"

namespace imix {

namespace {
// The constructors (one per ErrorKind, in enum order) live in EnvData.
const char* kCodes[7] = {"IMIX_ARGUMENT", "IMIX_SHAPE",    "IMIX_DTYPE",  "IMIX_DEVICE",
                         "IMIX_VALUE",    "IMIX_DISPOSED", "IMIX_BACKEND"};
}  // namespace

// All seven constructors are read and checked before any is replaced: a bad
// call (an ArgumentError) leaves the registered classes as they were.
void set_error_classes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw_js(env, ErrorKind::Argument, "classes: expected an object of error constructors");
  Napi::Object o = info[0].As<Napi::Object>();
  const char* names[7] = {"ArgumentError", "ShapeError",    "DTypeError",  "DeviceError",
                          "ValueError",    "DisposedError", "BackendError"};
  Napi::Function fns[7];
  for (int i = 0; i < 7; ++i) {
    Napi::Value v = o.Get(names[i]);
    if (!v.IsFunction())
      throw_js(env, ErrorKind::Argument, std::string("classes.") + names[i] + ": expected a constructor");
    fns[i] = v.As<Napi::Function>();
  }
  EnvData& d = env_data(env);
  for (int i = 0; i < 7; ++i) d.error_classes[i] = Napi::Persistent(fns[i]);
}

void throw_js(Napi::Env env, ErrorKind kind, const std::string& msg) {
  int k = (int)kind;
  Napi::FunctionReference& cls = env_data(env).error_classes[k];
  if (!cls.IsEmpty()) {
    Napi::Object err = cls.New({Napi::String::New(env, msg)});
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
