#!/usr/bin/python3
"""PyTorch reference for bench/conv.ts: convolution layers of ResNet-18 and
ResNet-20 (forward, input gradient, weight gradient), and one whole NPair +
i-Mix training step with a ResNet-20 encoder, on torch's CPU backend
(oneDNN/mkldnn convolutions).

Two serving modes, each started with --serve and a JSON argument; both print
one JSON line describing themselves, then answer one JSON line per request
line (bench/common.ts's RefServer protocol):

  --serve '{"mode": "layers"}'
      request {"batch": N, "layers": [{"cin", "cout", "k", "stride", "h", "w",
               "inputGrad"}], "configs": [{"threads": null|T, "channelsLast": bool}]
               (one per layer), "reps": R, "warmup": W}
      answer  {"ms": [[R times] per layer]}
      Per layer: nn.Conv2d(bias=False, padding=(k-1)//2), x (requires_grad
      when inputGrad) and dy of the layer's shapes, random; each timed call is
      `conv(x).backward(dy)` after `x.grad = conv.weight.grad = None`, as an
      autograd training step runs it. threads null: torch's own default
      (torch.get_num_threads() at start); channelsLast: module, x and dy in
      torch.channels_last.

  --serve '{"mode": "step", "batch", "shape": [C, H, W], "width", "head":
           [hidden, out], "pad", "threads": null|T, "channelsLast": bool}'
      request {"reps": R} -> {"ms": [R step times]} (3 warm-up steps first).

  --rss '<step JSON as above>' [steps]
      runs 3 + steps training steps and prints {"maxrss_kb", "baseline_kb"}:
      peak RSS (VmHWM) after the steps and after the imports.

The training step is scripts/imix_resnet.py's resnet20 (imix's resnet20, same
layout and names) with the projection head Linear(64, hidden, bias=False),
BatchNorm1d, ReLU, Linear(hidden, out); views: random crop with `pad` pixels
of zero padding and a horizontal flip with probability 1/2 per sample
(vectorized over the batch with one gather, as imix's randomCropFlip);
MixUp of the query view (lambda ~ Beta(1, 1), max(lambda, 1 - lambda)); the
2N batch through encoder and head; L2 normalization; N-pair logits q.k^T / 0.2
and the i-Mix soft-target cross-entropy; SGD (lr 0.05, momentum 0.9,
weight decay 5e-4).
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts'))
try:
    from imix_resnet import resnet20  # noqa: E402
except ImportError as e:  # an npm install has bench/*.py but not scripts/
    resnet20 = None
    IMPORT_ERROR = str(e)

DEFAULT_THREADS = torch.get_num_threads()
torch.backends.mkldnn.enabled = True


def describe():
    return {
        'torch': torch.__version__,
        'defaultThreads': DEFAULT_THREADS,
        'mkldnn': torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
        'capability': torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, 'cpu') else None,
    }


def set_threads(t):
    torch.set_num_threads(t or DEFAULT_THREADS)


# --- conv layers -------------------------------------------------------------------------------


def time_layer(batch, L, cfg, reps, warmup):
    set_threads(cfg.get('threads'))
    cl = cfg.get('channelsLast', False)
    k, s = L['k'], L['stride']
    conv = nn.Conv2d(L['cin'], L['cout'], k, stride=s, padding=(k - 1) // 2, bias=False)
    x = torch.rand(batch, L['cin'], L['h'], L['w'])
    ho = (L['h'] + 2 * ((k - 1) // 2) - k) // s + 1
    wo = (L['w'] + 2 * ((k - 1) // 2) - k) // s + 1
    dy = torch.rand(batch, L['cout'], ho, wo) - 0.5
    if cl:
        conv = conv.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
        dy = dy.contiguous(memory_format=torch.channels_last)
    if L.get('inputGrad', True):
        x.requires_grad_(True)

    def once():
        x.grad = None
        conv.weight.grad = None
        conv(x).backward(dy)

    for _ in range(warmup):
        once()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        once()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def serve_layers():
    print(json.dumps(describe()), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        out = [time_layer(req['batch'], L, c, req['reps'], req.get('warmup', 1)) for L, c in zip(req['layers'], req['configs'])]
        print(json.dumps({'ms': out}), flush=True)


# --- training step -----------------------------------------------------------------------------


def crop_flip(x, pad):
    """Per sample: zero-pad by `pad`, crop an H x W window at a uniform offset, flip left-right with p = 1/2."""
    n, c, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n,))
    ox = torch.randint(0, 2 * pad + 1, (n,))
    flip = torch.rand(n) < 0.5
    rows = oy[:, None] + torch.arange(h)
    cols = torch.arange(w).expand(n, w)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + ox[:, None]
    return xp[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows[:, None, :, None], cols[:, None, None, :]]


def make_step(cfg):
    if resnet20 is None:
        raise SystemExit(f'conv_ref.py: cannot import scripts/imix_resnet.py ({IMPORT_ERROR}); run from a source checkout')
    set_threads(cfg.get('threads'))
    torch.manual_seed(0)
    B = cfg['batch']
    C, H, W = cfg['shape']
    hidden, out = cfg['head']
    pad = cfg.get('pad', 2)
    cl = cfg.get('channelsLast', False)
    enc = resnet20(C, cfg.get('width', 1.0))
    feats = enc(torch.zeros(2, C, H, W)).shape[1]
    net = nn.Sequential(enc, nn.Linear(feats, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out))
    if cl:
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    data = torch.rand(cfg.get('rows', 4096), C, H, W)
    tau = 0.2
    ar = torch.arange(B)

    def step():
        idx = torch.randint(0, data.shape[0], (B,))
        x = data[idx]
        x1 = crop_flip(x, pad)
        x2 = crop_flip(x, pad)
        perm = torch.randperm(B)
        lam = torch.distributions.Beta(1.0, 1.0).sample((B,))
        lam = torch.maximum(lam, 1 - lam)
        l4 = lam[:, None, None, None]
        xq = l4 * x1 + (1 - l4) * x1[perm]
        xb = torch.cat([xq, x2])
        if cl:
            xb = xb.contiguous(memory_format=torch.channels_last)
        z = F.normalize(net(xb), dim=1)
        q, k = z[:B], z[B:]
        logp = F.log_softmax(q @ k.t() / tau, dim=1)
        loss = -(lam * logp[ar, ar] + (1 - lam) * logp[ar, perm]).mean()
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def serve_step(cfg):
    step = make_step(cfg)
    for _ in range(3):
        step()
    print(json.dumps({**describe(), 'threads': torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        times = []
        for _ in range(json.loads(line)['reps']):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1e3)
        print(json.dumps({'ms': times}), flush=True)


def peak_rss_kb():
    """VmHWM, this address space's peak RSS in KiB (getrusage's maxrss carries a parent's over fork and exec)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss(cfg, steps):
    baseline = peak_rss_kb()
    step = make_step(cfg)
    for _ in range(3 + steps):
        step()
    print(json.dumps({**describe(), 'threads': torch.get_num_threads(), 'maxrss_kb': peak_rss_kb(), 'baseline_kb': baseline}))


def main():
    if sys.argv[1] == '--rss':
        rss(json.loads(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 3)
        return
    if sys.argv[1] != '--serve':
        raise SystemExit('usage: conv_ref.py --serve JSON | --rss JSON [steps]')
    cfg = json.loads(sys.argv[2])
    if cfg['mode'] == 'layers':
        serve_layers()
    else:
        serve_step(cfg)


if __name__ == '__main__':
    main()
