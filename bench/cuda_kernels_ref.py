#!/usr/bin/python3
"""PyTorch reference timings on the GPU for bench/cuda-kernels.ts.

argv[1]: JSON {"jobs": [{"key": str, "op": str, ...params}], "reps": int}
stdout:  JSON {"available": bool, "reason"?: str, "torch"?: str, "device"?: str,
               "results"?: {key: ms}}

Each job is the same work as the imix kernel of the same name, written the
way a PyTorch user would (fp32, TF32 off), timed with CUDA events: median
milliseconds per call over `reps` samples of a few calls each. When torch is
missing or has no CUDA, prints {"available": false, "reason": ...} and exits 0.
"""
import json
import sys


def main():
    cfg = json.loads(sys.argv[1])
    try:
        import torch
    except Exception as e:  # no torch at all
        print(json.dumps({"available": False, "reason": f"torch not importable: {e}"}))
        return
    if not torch.cuda.is_available():
        print(json.dumps({"available": False, "reason": f"torch {torch.__version__} has no CUDA device"}))
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)

    def rn(*shape):
        return torch.randn(*shape, device=dev, generator=g)

    def timed(fn, reps, inner=5):
        for _ in range(2):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(reps):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            for _ in range(inner):
                fn()
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e) / inner)
        times.sort()
        return times[len(times) // 2]

    def make(job):
        op = job["op"]
        if op == "gemm_nt":
            A, B = rn(job["M"], job["K"]), rn(job["N"], job["K"])
            C = torch.empty(job["M"], job["N"], device=dev)
            return lambda: torch.mm(A, B.t(), out=C)
        if op == "mixed_ce":
            N, M = job["N"], job["M"]
            x = (rn(N, M) * 3).requires_grad_(True)
            perm = torch.randperm(N, device=dev, generator=g)
            u = torch.rand(N, device=dev, generator=g)
            lam = torch.maximum(u, 1 - u)
            a = torch.arange(N, device=dev)[:, None]
            b = perm[:, None]

            def step():
                x.grad = None
                ls = torch.log_softmax(x, dim=1)
                loss = -(lam * ls.gather(1, a)[:, 0] + (1 - lam) * ls.gather(1, b)[:, 0]).sum()
                loss.backward()
                return loss.item()  # imix returns the loss to the host too

            return step
        if op == "normalize":
            x = rn(job["N"], job["D"])
            return lambda: torch.nn.functional.normalize(x, dim=1)
        if op == "ema":
            t, s = rn(job["n"]), rn(job["n"])
            return lambda: t.lerp_(s, 1 - 0.996)
        if op == "mixup":
            N, F = job["N"], job["F"]
            x = rn(N, F)
            perm = torch.randperm(N, device=dev, generator=g)
            lam = torch.rand(N, 1, device=dev, generator=g) * 0.5 + 0.5
            return lambda: lam * x + (1 - lam) * x[perm]
        if op == "batchnorm":
            N, C = job["N"], job["C"]
            x = rn(N, C)
            w, bb = torch.ones(C, device=dev), torch.zeros(C, device=dev)
            rm, rv = torch.zeros(C, device=dev), torch.ones(C, device=dev)
            return lambda: torch.nn.functional.batch_norm(x, rm, rv, w, bb, training=True)
        if op == "sgd":
            p = torch.nn.Parameter(rn(job["n"]))
            p.grad = rn(job["n"]) * 0.01
            opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=1e-4)
            return opt.step
        if op == "adamw":
            p = torch.nn.Parameter(rn(job["n"]))
            p.grad = rn(job["n"]) * 0.01
            try:
                opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.05, fused=True)
            except (TypeError, RuntimeError):
                opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.05)
            return opt.step
        if op == "randn":
            o = torch.empty(job["n"], device=dev)
            return lambda: o.normal_(generator=g)
        if op == "input_drop":
            x = rn(job["n"])
            return lambda: x * (torch.rand(job["n"], device=dev, generator=g) >= 0.2)
        if op == "sum":
            x = rn(job["n"])
            return lambda: torch.sum(x, dtype=torch.float64).item()
        if op == "gather":
            src = rn(job["R"], job["F"])
            idx = torch.randint(0, job["R"], (job["B"],), device=dev, generator=g)
            return lambda: src.index_select(0, idx)
        F = torch.nn.functional
        if op in ("conv2d_fwd", "conv2d_bwd_data", "conv2d_bwd_weight"):
            N, C, K, H, W, k = job["N"], job["C"], job["K"], job["H"], job["W"], job["k"]
            s, p = job["stride"], job["padding"]
            x, w, b = rn(N, C, H, W), rn(K, C, k, k) * 0.05, rn(K)
            if op == "conv2d_fwd":
                return lambda: F.conv2d(x, w, b, stride=s, padding=p)
            Ho = (H + 2 * p - k) // s + 1
            Wo = (W + 2 * p - k) // s + 1
            dy = rn(N, K, Ho, Wo)
            if op == "conv2d_bwd_data":
                return lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, stride=s, padding=p)
            return lambda: (torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=s, padding=p), dy.sum((0, 2, 3)))
        if op == "conv1d_fwd":
            x, w, b = rn(job["N"], job["C"], job["L"]), rn(job["K"], job["C"], job["k"]) * 0.05, rn(job["K"])
            return lambda: F.conv1d(x, w, b, padding=job["padding"])
        if op in ("batchnorm2d_fwd", "batchnorm2d_bwd"):
            N, C, H = job["N"], job["C"], job["H"]
            x = rn(N, C, H, H)
            w, bb = torch.ones(C, device=dev), torch.zeros(C, device=dev)
            rm, rv = torch.zeros(C, device=dev), torch.ones(C, device=dev)
            if op == "batchnorm2d_fwd":
                return lambda: F.relu_(F.batch_norm(x, rm, rv, w, bb, training=True))
            y, sm, si = torch.ops.aten.native_batch_norm(x, w, bb, rm, rv, True, 0.1, 1e-5)
            y = F.relu(y)
            dy = rn(N, C, H, H)

            def bwd():
                g = torch.ops.aten.threshold_backward(dy, y, 0)
                return torch.ops.aten.native_batch_norm_backward(g, x, w, rm, rv, sm, si, True, 1e-5, [True, True, True])

            return bwd
        if op in ("maxpool_fwd", "maxpool_bwd"):
            N, C, H = job["N"], job["C"], job["H"]
            x = rn(N, C, H, H)
            if op == "maxpool_fwd":
                return lambda: F.max_pool2d(x, 3, 2, 1, return_indices=True)
            y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
            dy = torch.randn_like(y)
            return lambda: torch.ops.aten.max_pool2d_with_indices_backward(dy, x, [3, 3], [2, 2], [1, 1], [1, 1], False, idx)
        if op == "avgpool":
            x = rn(job["N"], job["C"], job["H"], job["H"])
            return lambda: F.adaptive_avg_pool2d(x, 1)
        return None

    torch.backends.cudnn.allow_tf32 = False
    results = {}
    for job in cfg["jobs"]:
        try:
            fn = make(job)
            if fn is not None:
                results[job["key"]] = timed(fn, cfg.get("reps", 20))
        except Exception as e:  # one job's failure (an op this torch lacks) leaves the others
            print(f"cuda_kernels_ref: {job['key']}: {e}", file=sys.stderr)
        torch.cuda.empty_cache()
    print(json.dumps({"available": True, "torch": torch.__version__, "device": torch.cuda.get_device_name(0),
                      "results": results}))


if __name__ == "__main__":
    main()
