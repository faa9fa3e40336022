// Binding: tryLockFile(fd) -> boolean. An exclusive, non-blocking advisory
// lock (flock(2)) on an open file, held until the descriptor is closed or
// the process ends — by any means, kill -9 included. Node's fs has no
// flock, and a lock made of a file's mere existence outlives a killed
// writer and needs guesswork to take over; the kernel's lock does not.
// A run folder's writer (imix train, fit with checkpointDir) holds one on
// the run folder itself (lib/io/lock.ts).
#include <sys/file.h>

#include <cerrno>
#include <cstring>

#include "args.h"
#include "errors.h"
#include "ops.h"

namespace imix {
namespace {

Napi::Value TryLockFile(const Napi::CallbackInfo& info) {
  Args a(info);
  int64_t fd = a.integer(0, "fd");
  IMIX_CHECK(fd >= 0 && fd <= INT32_MAX, Value, "fd: expected an open file descriptor, got " + std::to_string(fd));
  int rc;
  do rc = flock((int)fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  fail(ErrorKind::Value, std::string("fd: cannot lock (") + std::strerror(errno) + ")");
}

}  // namespace

void register_fs_ops(Napi::Env env, Napi::Object exports) { bind(env, exports, "tryLockFile", TryLockFile); }

}  // namespace imix
