// Errors raised by kernels and argument checks. The addon turns each into the
// matching typed JS error class (lib/errors.ts), so a bad argument never
// reaches a kernel and a kernel never aborts the process.
#pragma once
#include <stdexcept>
#include <string>

namespace imix {

enum class ErrorKind { Argument, Shape, DType, Device, Value, Disposed, Backend };

struct Error : std::runtime_error {
  ErrorKind kind;
  Error(ErrorKind k, const std::string& msg) : std::runtime_error(msg), kind(k) {}
};

[[noreturn]] inline void fail(ErrorKind k, const std::string& msg) { throw Error(k, msg); }

}  // namespace imix

#define IMIX_CHECK(cond, kind, msg)                          \
  do {                                                       \
    if (!(cond)) ::imix::fail(::imix::ErrorKind::kind, msg); \
  } while (0)
