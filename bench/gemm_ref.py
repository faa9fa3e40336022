#!/usr/bin/python3
"""Reference sgemm timings for bench/gemm.ts.

Usage: /usr/bin/python3 bench/gemm_ref.py '<shapes JSON>' [reps]
  shapes: [{"transA": bool, "transB": bool, "M": int, "N": int, "K": int}, ...]
          C[M,N] = op(A)·op(B), A stored [K,M] when transA, B stored [N,K] when transB.
Prints one JSON object:
  {"numpy": {"name", "blas", "threads", "ms": [median ms per shape]} | {"error"},
   "torch": {"name", "threads", "ms": [...]} | {"error"}}
numpy.dot on float32 calls the system BLAS's sgemm (Debian: libblas.so.3 →
OpenBLAS), passing transposed views as transpose flags (no copies); torch.matmul
with out= likewise. Each shape: 3 warm-up calls, then the median of `reps`.
"""
import json
import os
import sys
import time


def median_ms(fn, reps):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]


def loaded_blas():
    """The BLAS shared objects mapped into this process (what numpy really calls)."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "blas" in os.path.basename(p).lower() or "mkl" in os.path.basename(p).lower():
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    return sorted(libs)


def operands(mod, s, rng_fill):
    M, N, K = s["M"], s["N"], s["K"]
    A = rng_fill((K, M) if s["transA"] else (M, K))
    B = rng_fill((N, K) if s["transB"] else (K, N))
    return (A.T if s["transA"] else A), (B.T if s["transB"] else B)


def bench_numpy(shapes, reps):
    import numpy as np

    rng = np.random.default_rng(0)
    fill = lambda shp: rng.standard_normal(shp, dtype=np.float32)
    ms = []
    for s in shapes:
        a, b = operands(np, s, fill)
        c = np.empty((s["M"], s["N"]), dtype=np.float32)
        ms.append(median_ms(lambda: np.dot(a, b, out=c), reps))
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or str(os.cpu_count())
    return {"name": "numpy %s dot (sgemm)" % np.__version__, "blas": loaded_blas(), "threads": threads, "ms": ms}


def bench_torch(shapes, reps):
    import torch

    torch.set_num_threads(os.cpu_count())
    g = torch.Generator().manual_seed(0)
    fill = lambda shp: torch.randn(*shp, generator=g, dtype=torch.float32)
    ms = []
    with torch.no_grad():
        for s in shapes:
            a, b = operands(torch, s, fill)
            c = torch.empty(s["M"], s["N"], dtype=torch.float32)
            ms.append(median_ms(lambda: torch.matmul(a, b, out=c), reps))
    return {"name": "torch %s matmul" % torch.__version__, "threads": torch.get_num_threads(), "ms": ms}


def main():
    shapes = json.loads(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    out = {}
    for key, fn in (("numpy", bench_numpy), ("torch", bench_torch)):
        try:
            out[key] = fn(shapes, reps)
        except Exception as e:  # missing module, no BLAS, ...
            out[key] = {"error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
