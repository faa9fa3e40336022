"""Short runs of BYOL and SimCLR on a ResNet-20 (width 0.25) in PyTorch, to
tell the nature of the task from an imix bug: does kNN accuracy rise above
the *untrained* encoder's after 96-1600 steps on 1024 bundled Fashion-MNIST
images (crop with 2 pixels of padding + flip), as test/conv-methods.test.ts
asks? imix's recipe (heads, EMA schedule, weight decay on weights only,
cosine lr per step, kNN of lib/eval/knn.ts with k = 20) copied.

Answer (2026-12-06, AMD EPYC Zen 5, torch 1.13, one thread; 36 runs): no.
BYOL ends at 0.43-0.54 and SimCLR at 0.52-0.59 against 0.60-0.65 untrained
(seeds 5, 6, 7; 96, 480 and 1600 steps; with and without MixUp, symmetric
BYOL, 20% pixel drop), while every loss falls; raw-pixel kNN is 0.73. A
random convolutional network is a strong kNN baseline here and weak views
on 16 features do not beat it in a short run - in imix as in PyTorch.

Run: /usr/bin/python3 experiments/short_run_knn_torch.py byol:6:5 simclr:30:6:none:0.03::0.2
(configs method:epochs:seed[:mix[:lr[:sym[:drop]]]]; batch 64, 16 steps an epoch).
"""
import sys, gzip, struct, time, math, argparse
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
import os
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
from imix_resnet import resnet20
torch.set_num_threads(1)

def idx(path):
    with gzip.open(path, 'rb') as f: b = f.read()
    nd = b[3]; dims = struct.unpack('>' + 'I' * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
D = os.path.join(ROOT, 'data', 'fashion-mnist') + '/'
X = torch.from_numpy(idx(D + 'train-images-idx3-ubyte.gz')[:2560].astype(np.float32) / 255).unsqueeze(1)
Y = torch.from_numpy(idx(D + 'train-labels-idx1-ubyte.gz')[:2560].astype(np.int64))
Xtr, Xmem, Ymem, Xte, Yte = X[:1024], X[1024:2048], Y[1024:2048], X[2048:2560], Y[2048:2560]

def knn_acc(fm, ft, k=20, T=0.1):
    fm = F.normalize(fm, dim=1, eps=1e-12); ft = F.normalize(ft, dim=1, eps=1e-12)
    sim = ft @ fm.t()
    s, i = sim.topk(k, dim=1)
    w = torch.exp((s - s.max(1, keepdim=True).values) / T).double()
    votes = torch.zeros(ft.shape[0], 10, dtype=torch.float64).scatter_add_(1, Ymem[i], w)
    return (votes.argmax(1) == Yte).float().mean().item()

@torch.no_grad()
def eval_knn(enc):
    was = enc.training; enc.eval()
    a = knn_acc(enc(Xmem), enc(Xte)); enc.train(was); return a

def crop_flip(x, g, pad=2, p=0.5):
    N, C, H, W = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (N,), generator=g); ox = torch.randint(0, 2 * pad + 1, (N,), generator=g)
    flip = torch.rand(N, generator=g) < p
    ry = oy[:, None] + torch.arange(H)[None]            # N,H
    cx = torch.arange(W)[None].expand(N, W)
    cx = torch.where(flip[:, None], W - 1 - cx, cx)
    rx = ox[:, None] + cx                               # N,W
    n = torch.arange(N)[:, None, None]
    return xp[:, 0][n, ry[:, :, None], rx[:, None, :]].unsqueeze(1)

def mlp(i, h, o):
    return nn.Sequential(nn.Linear(i, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(), nn.Linear(h, o))

def param_groups(mods):
    dec, nod = [], []
    for m in mods:
        for mod in m.modules():
            for n, p in mod.named_parameters(recurse=False):
                (dec if (n == 'weight' and not isinstance(mod, nn.modules.batchnorm._BatchNorm)) else nod).append(p)
    return [{'params': dec, 'weight_decay': 5e-4}, {'params': nod, 'weight_decay': 0.0}]

def run(method, epochs, seed, mix='none', lr=0.05, symmetric=False, m0=0.996, drop=0.0, B=64):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(1000 + seed)
    enc = resnet20(1, 0.25); proj = mlp(16, 64, 32)
    online = nn.Sequential(enc, proj)
    mods = [enc, proj]
    if method == 'byol':
        pred = mlp(32, 64, 32); mods.append(pred)
        import copy
        target = copy.deepcopy(online)
        for p in target.parameters(): p.requires_grad_(False)
    opt = torch.optim.SGD(param_groups(mods), lr=lr, momentum=0.9)
    before = eval_knn(enc)
    steps_per = len(Xtr) // B; total = epochs * steps_per
    losses = []; step = 0
    for m in mods: m.train()
    for ep in range(epochs):
        order = torch.randperm(len(Xtr), generator=g)
        for s in range(steps_per):
            cur_lr = 0.5 * lr * (1 + math.cos(math.pi * min(1, step / total)))
            for gr in opt.param_groups: gr['lr'] = cur_lr
            x = Xtr[order[s * B:(s + 1) * B]]
            x2 = crop_flip(x, g)  # key view (views[1] first, as imix)
            x1 = crop_flip(x, g)
            if drop > 0:
                x2 = x2 * (torch.rand(x2.shape, generator=g) >= drop); x1 = x1 * (torch.rand(x1.shape, generator=g) >= drop)
            lam = perm = None
            if mix == 'mixup':
                perm = torch.randperm(B, generator=g)
                lam = torch.distributions.Beta(1.0, 1.0).sample((B,))
                xq = lam.view(-1, 1, 1, 1) * x1 + (1 - lam.view(-1, 1, 1, 1)) * x1[perm]
            else:
                xq = x1
            if method == 'byol':
                mom = 1 - (1 - m0) * (math.cos(math.pi * min(1, max(0, step / total))) + 1) / 2
                with torch.no_grad():
                    for pt, po in zip(target.parameters(), online.parameters()): pt.mul_(mom).add_(po, alpha=1 - mom)
                    for bt, bo in zip(target.buffers(), online.buffers()): bt.copy_(bo)
                if symmetric:
                    xo = torch.cat([xq, (lam.view(-1,1,1,1) * x2 + (1 - lam.view(-1,1,1,1)) * x2[perm]) if mix == 'mixup' else x2])
                    xt = torch.cat([x2, x1])
                else:
                    xo, xt = xq, x2
                with torch.no_grad(): k = F.normalize(target(xt), dim=1)
                p = F.normalize(pred(online(xo)), dim=1)
                n = xo.shape[0]
                if mix == 'mixup':
                    pp = perm if not symmetric else torch.cat([perm, perm + B]); ll = lam if not symmetric else torch.cat([lam, lam])
                    c = ll * (p * k).sum(1) + (1 - ll) * (p * k[pp]).sum(1)
                else:
                    c = (p * k).sum(1)
                loss = (2 - 2 * c).sum() / B
            else:  # simclr NT-Xent over [xq; xk]
                z = F.normalize(online(torch.cat([xq, x2])), dim=1)
                logits = z @ z.t() / 0.2
                logits.fill_diagonal_(-1e9)
                tgt = torch.cat([torch.arange(B, 2 * B), torch.arange(0, B)])
                loss = F.cross_entropy(logits, tgt)
            opt.zero_grad(); loss.backward(); opt.step()
            losses.append(loss.item()); step += 1
    after = eval_knn(enc)
    extra = ''
    if method == 'byol': extra = f' targetEnc={eval_knn(target[0]):.3f}'
    return before, after, losses, extra

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('configs', nargs='+')  # method:epochs:seed[:mix[:lr[:sym[:drop]]]]
    a = ap.parse_args()
    for c in a.configs:
        f = c.split(':')
        method, ep, seed = f[0], int(f[1]), int(f[2])
        mix = f[3] if len(f) > 3 else 'none'; lr = float(f[4]) if len(f) > 4 else 0.05
        sym = len(f) > 5 and f[5] == 'sym'; drop = float(f[6]) if len(f) > 6 else 0.0
        t = time.time()
        b, af, L, extra = run(method, ep, seed, mix, lr, sym, drop=drop)
        f3 = sum(L[:3]) / 3; l3 = sum(L[-3:]) / 3
        print(f'{method:6s} mix={mix:6s} lr={lr} sym={int(sym)} drop={drop} steps={len(L):4d} seed={seed} knn {b:.3f} -> {af:.3f}{extra}  loss {f3:.3f} -> {l3:.3f}  ({time.time()-t:.1f}s)', flush=True)
