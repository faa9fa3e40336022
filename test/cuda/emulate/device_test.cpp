// The CUDA device layer (native/cuda/device.cu: device query, caching
// allocator, OOM retry, pinned staging, fills, errors) against a fake CUDA
// runtime (cuda_fake.h: one 64 MiB device whose stream runs everything at
// once). Built and run by test/cuda/emulate/run.sh.
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "native/cuda/cuda_fake.h"
#include "native/cuda/common_real.cuh"
#include "native/cuda/runtime.h"

using namespace imix;
static int passes = 0, failures = 0;
static void check(bool ok, const std::string& label) {
  if (ok) {
    ++passes;
    std::printf("ok   %s\n", label.c_str());
  } else {
    ++failures;
    std::printf("FAIL %s\n", label.c_str());
  }
}
template <class F>
static std::string error_of(F&& f, ErrorKind* kind = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (kind) *kind = e.kind;
    return e.what();
  }
  return "";
}

int main() {
  fake::budget = size_t{64} << 20;
  const cuda::Status& st = cuda::status();
  check(st.devices.size() == 1 && st.devices[0].supported && st.reason.empty(), "status: one supported device");
  ErrorKind k = ErrorKind::Argument;
  std::string m = error_of([] { cuda::backend(1, "device"); }, &k);
  check(k == ErrorKind::Device && m.find("device: 'cuda:1' is not available: there is 1 CUDA device (cuda:0)") == 0,
        "backend(1): DeviceError naming the device: " + m);
  Backend& be = cuda::backend(0, "device");
  check(cuda::current_device() == 0 && cuda::current_stream() != nullptr, "backend(0) makes the device current");

  // Zero-filled allocation (the fake cudaMalloc returns garbage).
  void* a = be.allocate(1000);
  std::vector<uint8_t> host(1000, 7);
  be.copy_to_host(host.data(), a, 1000);
  bool zero = true;
  for (uint8_t v : host) zero = zero && v == 0;
  check(zero, "allocate zero-fills");
  cuda::PoolStats s0 = cuda::pool_stats(0);
  be.deallocate(a, 1000, 0);
  void* b = be.allocate(900);  // same 1024-byte class
  cuda::PoolStats s1 = cuda::pool_stats(0);
  check(b == a && s1.mallocs == s0.mallocs && s1.reuses == s0.reuses + 1, "a freed block is reused, no cudaMalloc");
  be.deallocate(b, 900, 0);
  void* c = be.allocate((1 << 20) + 1);
  cuda::PoolStats s2 = cuda::pool_stats(0);
  check(s2.in_use - s1.in_use + 1024 == (5u << 18), "size class of 1 MiB + 1 is 1.25 MiB");
  be.deallocate(c, (1 << 20) + 1, 0);

  // OOM: the cache is released and the allocation retried, then a BackendError.
  void* big = be.allocate(size_t{40} << 20);
  be.deallocate(big, size_t{40} << 20, 0);
  const long frees0 = fake::frees;
  void* big2 = be.allocate(size_t{48} << 20);
  check(big2 != nullptr && fake::frees > frees0 && cuda::pool_stats(0).cached == 0,
        "allocation that only fits without the cache: cache released, retried, succeeded");
  k = ErrorKind::Argument;
  m = error_of([&] { be.allocate(size_t{100} << 20); }, &k);
  check(k == ErrorKind::Backend && m.find("out of device memory on cuda:0: cannot allocate 100.0 MiB") == 0,
        "OOM is a BackendError with the sizes: " + m);
  void* small = be.allocate(1 << 20);
  check(small != nullptr, "the device stays usable after an OOM");
  be.deallocate(small, 1 << 20, 0);
  be.deallocate(big2, size_t{48} << 20, 0);

  // Host copies through the pinned staging buffers, several chunks.
  const size_t n = (size_t{10} << 20) + 12345;
  std::vector<uint8_t> src(n), back(n);
  std::mt19937 rng(3);
  for (auto& v : src) v = (uint8_t)rng();
  void* d = be.allocate(n);
  const long h0 = fake::host_allocs;
  be.copy_from_host(d, src.data(), n);
  be.copy_to_host(back.data(), d, n);
  check(back == src, "copy_from_host / copy_to_host round trip over 3 staging chunks");
  be.copy_from_host(d, src.data(), 100);
  check(fake::host_allocs == h0, "pinned staging is allocated once");

  // Overlapping device copies behave like memmove.
  std::vector<uint8_t> ref = src;
  std::memmove(ref.data() + 1000, ref.data() + 10, 5000);
  be.copy((char*)d + 1000, (char*)d + 10, 5000);
  be.copy_to_host(back.data(), d, n);
  check(back == ref, "overlapping copy = memmove");
  be.deallocate(d, n, 0);

  // Fills (emulated kernels).
  void* f = be.allocate(25 * 4);
  be.fill32(f, 0x40200000u, 25);  // 2.5f
  const int64_t shape[1] = {5}, strides[1] = {6};
  be.fill32_strided(f, 0xbf800000u, shape, strides, 1);  // the diagonal ← -1
  std::vector<float> fv(25);
  be.copy_to_host(fv.data(), f, 100);
  bool fills = true;
  for (int i = 0; i < 25; ++i) fills = fills && fv[i] == (i % 6 == 0 ? -1.0f : 2.5f);
  check(fills, "fill32 and fill32_strided (a diagonal)");
  be.deallocate(f, 100, 0);

  // The one host readback of the reductions.
  std::vector<double> vals(5000);
  double want = 0;
  for (size_t i = 0; i < vals.size(); ++i) want += (vals[i] = 0.001 * (double)i - 1.0);
  void* dv = be.allocate(vals.size() * 8);
  be.copy_from_host(dv, vals.data(), vals.size() * 8);
  const double got = cuda::sum_to_host((const double*)dv, (int64_t)vals.size());
  check(std::fabs(got - want) < 1e-9, "sum_to_host");
  be.deallocate(dv, vals.size() * 8, 0);

  // Host synchronizations (cudaStats): small uploads take slots of the ring
  // and never wait while it has room; downloads, read-backs and stream syncs
  // each count one; an upload that wraps onto a slot the stream has not
  // passed waits, and counts. (The fake stream runs nothing until the host
  // waits, so every un-synchronized copy is still "in flight".)
  {
    cuda::sync_stats(0, true);
    std::vector<int32_t> idx(512), back32(512);
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = (int32_t)(511 - i);
    void* di = be.allocate(idx.size() * 4);
    for (int r = 0; r < 10; ++r) be.copy_from_host(di, idx.data(), idx.size() * 4);
    cuda::SyncStats a0 = cuda::sync_stats(0, false);
    check(a0.syncs == 0 && a0.uploads == 10 && a0.upload_bytes == 10 * 2048, "10 small uploads: no synchronization");
    be.copy_to_host(back32.data(), di, back32.size() * 4);
    cuda::SyncStats a1 = cuda::sync_stats(0, false);
    check(back32 == idx && a1.syncs == 1 && a1.downloads == 1 && a1.download_bytes == 2048, "a download: one synchronization");
    be.synchronize();
    check(cuda::sync_stats(0, false).syncs == 2, "synchronize: one");
    for (int r = 0; r < 32; ++r) be.copy_from_host(di, idx.data(), idx.size() * 4);
    check(cuda::sync_stats(0, false).syncs == 2, "32 small uploads (the ring's size) after a sync: none");
    be.copy_from_host(di, idx.data(), idx.size() * 4);
    check(cuda::sync_stats(0, false).syncs == 3, "the 33rd wraps onto a slot the stream has not passed: it waits");

    // A staged read-back: issued without waiting; finished after another
    // synchronizing call, it does not wait either.
    std::vector<int32_t> staged(512, -1);
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = (int32_t)(3 * i);
    be.copy_from_host(di, idx.data(), idx.size() * 4);
    be.synchronize();  // the ring's slots all passed (the loop above filled it)
    cuda::sync_stats(0, true);
    const uint64_t t1 = cuda::stage_download(di, 2048);
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = -7;
    be.copy_from_host(di, idx.data(), idx.size() * 4);  // after the staged copy on the stream
    check(cuda::sync_stats(0, false).syncs == 0, "stage_download does not wait");
    be.synchronize();
    const bool waited1 = cuda::finish_staged(0, t1, staged.data(), 2048);
    bool stagedOk = true;
    for (size_t i = 0; i < staged.size(); ++i) stagedOk = stagedOk && staged[i] == (int32_t)(3 * i);
    check(!waited1 && stagedOk && cuda::sync_stats(0, false).syncs == 1,
          "finished after a sync: no wait, and the values as of the stage (not the later upload)");
    const uint64_t t2 = cuda::stage_download(di, 2048);
    const bool waited2 = cuda::finish_staged(0, t2, staged.data(), 2048);
    check(waited2 && staged[5] == -7 && cuda::sync_stats(0, false).syncs == 2, "finished before any sync: it waits, counted");
    const uint64_t t3 = cuda::stage_download(di, 2048);
    cuda::stage_download(di, 1024);
    k = ErrorKind::Argument;
    m = error_of([&] { cuda::finish_staged(0, t3, staged.data(), 2048); }, &k);
    check(k == ErrorKind::Value && m.find("replaced by a later one") != std::string::npos,
          "a replaced staged read-back is a ValueError: " + m);
    be.deallocate(di, idx.size() * 4, 0);
  }

  // A sticky CUDA error: BackendError with the CUDA string, context lost.
  fake::sticky = cudaErrorIllegalAddress;
  k = ErrorKind::Argument;
  m = error_of([&] { be.allocate(size_t{30} << 20); }, &k);
  check(k == ErrorKind::Backend && m.find("an illegal memory access was encountered (cudaErrorIllegalAddress)") !=
                                       std::string::npos && m.find("restart the process") != std::string::npos,
        "a CUDA error is a BackendError with the CUDA error string: " + m);
  // cudaErrorContained (226: an H100/H200 hardware fault) is fatal to the
  // context too; an invalid value is not, and must not say so.
  const std::pair<int, bool> kinds[] = {{226, true}, {721, true}, {cudaErrorInvalidValue, false}};
  for (const auto& [code, fatal] : kinds) {
    fake::sticky = (cudaError_t)code;
    m = error_of([&] { be.allocate(size_t{30} << 20); }, &k);
    check(k == ErrorKind::Backend && (m.find("restart the process") != std::string::npos) == fatal,
          "CUDA error " + std::to_string(code) + (fatal ? " says to restart: " : " does not say to restart: ") + m);
  }
  fake::sticky = cudaSuccess;

  void* e = be.allocate(4096);
  be.deallocate(e, 4096, 0);
  cuda::empty_cache(0);
  check(cuda::pool_stats(0).cached == 0 && fake::used == 0, "empty_cache returns every cached block");

  std::printf("%d passed, %d failed\n", passes, failures);
  return failures ? 1 : 0;
}
