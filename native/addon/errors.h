// Turning C++ failures into typed JS errors. lib/errors.ts registers its
// error classes with the addon at load time (setErrorClasses); every bound
// function runs inside guard(), which maps imix::Error kinds onto them.
#pragma once
#include <napi.h>

#include <functional>

#include "../common/error.h"

namespace imix {

void set_error_classes(const Napi::CallbackInfo& info);
[[noreturn]] void throw_js(Napi::Env env, ErrorKind kind, const std::string& msg);

// Runs body; converts imix::Error, std::bad_alloc and other C++ exceptions
// into JS exceptions of the registered classes.
Napi::Value guard(const Napi::CallbackInfo& info,
                  const std::function<Napi::Value(const Napi::CallbackInfo&)>& body);

// Binds a C++ function as a JS function wrapped in guard().
using Binding = Napi::Value (*)(const Napi::CallbackInfo&);
void bind(Napi::Env env, Napi::Object exports, const char* name, Binding fn);

}  // namespace imix
