#!/usr/bin/python3
"""PyTorch reference timing for bench/cross-entropy.ts.

argv[1]: JSON {"sizes": [[N, M], ...], "warmup": int, "reps": int}
stdout:  JSON {"torch": version, "threads": int, "results": [{"N", "M", "ms"}]}

The same work as imix's fused mixed cross-entropy with i-Mix targets
(permutation π, per-row λ): log_softmax over the rows, gather of the two
target columns (i and π(i)), the λ-weighted mean loss, and backward to the
logits (autograd on a leaf tensor). Timed forward+backward, median over reps.
"""
import json
import os
import sys
import time

import torch


def bench(N, M, warmup, reps):
    g = torch.Generator().manual_seed(N * 100003 + M)
    x = (torch.randn(N, M, generator=g) * 3).requires_grad_(True)
    perm = torch.randperm(N, generator=g)
    u = torch.rand(N, generator=g)
    lam = torch.maximum(u, 1 - u)
    a = torch.arange(N)[:, None]
    b = perm[:, None]

    def step():
        x.grad = None
        ls = torch.log_softmax(x, dim=1)
        loss = -(lam * ls.gather(1, a)[:, 0] + (1 - lam) * ls.gather(1, b)[:, 0]).mean()
        loss.backward()
        return loss

    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(os.cpu_count() or 1)
    results = []
    for N, M in cfg["sizes"]:
        results.append({"N": N, "M": M, "ms": bench(N, M, cfg.get("warmup", 3), cfg.get("reps", 10))})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
