#!/usr/bin/env python3
"""PyTorch reference for bench/train-step.ts: one NPair + i-Mix training step
(input-drop views, MixUp of the query view, MLP encoder with BatchNorm,
projection head, N-pair soft-target loss, SGD with momentum and weight decay).
argv[1]: JSON {batch, widths: [in, h1, h2], head: [hidden, out], reps, threads};
threads null or absent keeps PyTorch's own default (torch.get_num_threads()).
Prints JSON {ms: median milliseconds per step, torch, threads}.

With --serve before the JSON: prints {torch, threads, blas_threads} once, then
answers each stdin line {"reps": R} with {"ms": [R step times]} (3 warm-up
steps before the first line), so that bench/train-step.ts can alternate
imix and PyTorch rounds. A request may carry "batch": B to time the step at
another batch size from then on (bench/scaling.ts); the first request at a
new size runs 2 untimed warm-up steps first."""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

serve = sys.argv[1] == '--serve'
cfg = json.loads(sys.argv[2 if serve else 1])
if cfg.get('threads'):
    torch.set_num_threads(cfg['threads'])
torch.manual_seed(0)
B = cfg['batch']
win, h1, h2 = cfg['widths']
hh, ho = cfg['head']


def block(i, o):
    return [nn.Linear(i, o, bias=False), nn.BatchNorm1d(o), nn.ReLU()]


net = nn.Sequential(*block(win, h1), *block(h1, h2), *block(h2, hh), nn.Linear(hh, ho))
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
data = torch.rand(4096, win)
tau = 0.2


def step(i):
    idx = torch.randint(0, data.shape[0], (B,))
    x = data[idx]
    x1 = x * (torch.rand_like(x) >= 0.2)
    x2 = x * (torch.rand_like(x) >= 0.2)
    perm = torch.randperm(B)
    lam = torch.distributions.Beta(1.0, 1.0).sample((B,))
    lam = torch.maximum(lam, 1 - lam)
    xq = lam[:, None] * x1 + (1 - lam[:, None]) * x1[perm]
    z = F.normalize(net(torch.cat([xq, x2])), dim=1)
    q, k = z[:B], z[B:]
    logp = F.log_softmax(q @ k.t() / tau, dim=1)
    ar = torch.arange(B)
    loss = -(lam * logp[ar, ar] + (1 - lam) * logp[ar, perm]).mean()
    opt.zero_grad(set_to_none=False)
    loss.backward()
    opt.step()
    return loss.item()


def timed(reps):
    times = []
    for i in range(reps):
        t0 = time.perf_counter()
        step(i)
        times.append((time.perf_counter() - t0) * 1000)
    return times


for i in range(3):
    step(i)
if serve:
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        if req.get('batch', B) != B:
            B = req['batch']
            for i in range(2):
                step(i)
        print(json.dumps({'ms': timed(req['reps'])}), flush=True)
else:
    times = timed(cfg.get('reps', 10))
    print(json.dumps({'ms': statistics.median(times), 'torch': torch.__version__, 'threads': torch.get_num_threads()}))
