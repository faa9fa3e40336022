#!/usr/bin/env python3
"""PyTorch reference for bench/scaling.ts: the MoCo + i-Mix loss part, the
N x (N+K) logits of N queries against [the N batch keys; a queue of K keys],
the soft-target cross-entropy of i-Mix's mixed virtual labels and its
gradient back to the queries (the key network takes no gradient):

    logits = cat([q @ k.T, q @ queue.T], dim=1) / tau
    loss   = -(lam * logp[i, i] + (1 - lam) * logp[i, perm[i]]).mean()
    loss.backward()   # dL/dq

which is what imix's losses.InfoNCE.forwardBackward({ q, k, negatives:
queue, mix, dq }) computes. (The N-pair step's batch scaling uses
bench/train_step_ref.py.)

--serve JSON {threads}: threads null keeps PyTorch's default. Prints
{torch, threads} once, then answers each stdin line {"N", "K", "D", "reps"}
with {"ms": [reps step times]}; a new shape gets fresh unit-norm inputs and
2 untimed warm-up steps first."""
import json
import sys
import time

import torch
import torch.nn.functional as F

assert sys.argv[1] == '--serve', 'usage: scaling_ref.py --serve JSON'
cfg = json.loads(sys.argv[2])
if cfg.get('threads'):
    torch.set_num_threads(cfg['threads'])
torch.manual_seed(0)
tau = 0.2
shape = None
q = k = queue = None


def setup(n, K, d):
    global q, k, queue
    q = F.normalize(torch.randn(n, d), dim=1).requires_grad_()
    k = F.normalize(torch.randn(n, d), dim=1)
    queue = F.normalize(torch.randn(K, d), dim=1)


def step():
    n = q.shape[0]
    perm = torch.randperm(n)
    lam = torch.distributions.Beta(1.0, 1.0).sample((n,))
    lam = torch.maximum(lam, 1 - lam)
    q.grad = None
    logits = torch.cat([q @ k.t(), q @ queue.t()], dim=1) / tau
    logp = F.log_softmax(logits, dim=1)
    ar = torch.arange(n)
    loss = -(lam * logp[ar, ar] + (1 - lam) * logp[ar, perm]).mean()
    loss.backward()
    return loss.item()


print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    s = (req['N'], req['K'], req['D'])
    if s != shape:
        shape = s
        setup(*s)
        for _ in range(2):
            step()
    times = []
    for _ in range(req['reps']):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({'ms': times}), flush=True)
