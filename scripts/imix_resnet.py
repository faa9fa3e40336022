#!/usr/bin/python3
"""imix's ResNet encoders as PyTorch networks, and loading an imix run into them.

The networks here are the ones imix's lib/nn/resnet.ts builds, with the same
parameter names and shapes (torchvision's: conv1, bn1, layer1.0.conv1, ...,
layer2.0.downsample.0), so `encoder.safetensors` of an imix run folder loads
into them with load_state_dict:

    python3 scripts/imix_resnet.py run/            # prints the features of a random batch
    from imix_resnet import load_run; net = load_run('run/')   # from Python

resnet18 is torchvision's resnet18 with the CIFAR stem (3x3 stride-1 conv1,
no max-pool) and fc removed; resnet20 is He et al.'s CIFAR ResNet-20 with
1x1 projection shortcuts (option B); resnet1d is ResNet-20's layout with
Conv1d/BatchNorm1d. Needs only torch (no torchvision, no safetensors package).
"""
import json
import os
import struct
import sys

import torch
from torch import nn


def _conv(dims, cin, cout, k, stride):
    Conv = nn.Conv2d if dims == 2 else nn.Conv1d
    return Conv(cin, cout, k, stride=stride, padding=(k - 1) // 2, bias=False)


def _norm(dims, c):
    return nn.BatchNorm2d(c) if dims == 2 else nn.BatchNorm1d(c)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, dims=2):
        super().__init__()
        self.conv1 = _conv(dims, inplanes, planes, 3, stride)
        self.bn1 = _norm(dims, planes)
        self.relu = nn.ReLU()
        self.conv2 = _conv(dims, planes, planes, 3, 1)
        self.bn2 = _norm(dims, planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(_conv(dims, inplanes, planes, 1, stride), _norm(dims, planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def _scaled(c, w):
    # JS Math.round (half up), as lib/nn/resnet.ts
    return max(1, int(c * w + 0.5))


class ResNet(nn.Module):
    def __init__(self, in_channels, stem, stages, dims=2):
        super().__init__()
        self.conv1 = _conv(dims, in_channels, stem, 3, 1)
        self.bn1 = _norm(dims, stem)
        self.relu = nn.ReLU()
        planes = stem
        for i, (width, blocks, stride) in enumerate(stages):
            layer = []
            for b in range(blocks):
                layer.append(BasicBlock(planes, width, stride if b == 0 else 1, dims))
                planes = width
            setattr(self, f'layer{i + 1}', nn.Sequential(*layer))
        self.nstages = len(stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool1d(1)
        self.flatten = nn.Flatten()

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for i in range(self.nstages):
            x = getattr(self, f'layer{i + 1}')(x)
        return self.flatten(self.avgpool(x))


def resnet18(in_channels, width=1.0):
    s = lambda c: _scaled(c, width)
    return ResNet(in_channels, s(64), [(s(64), 2, 1), (s(128), 2, 2), (s(256), 2, 2), (s(512), 2, 2)])


def resnet20(in_channels, width=1.0):
    s = lambda c: _scaled(c, width)
    return ResNet(in_channels, s(16), [(s(16), 3, 1), (s(32), 3, 2), (s(64), 3, 2)])


def resnet1d(in_channels, width=1.0):
    s = lambda c: _scaled(c, width)
    return ResNet(in_channels, s(16), [(s(16), 3, 1), (s(32), 3, 2), (s(64), 3, 2)], dims=1)


BUILDERS = {'resnet18': resnet18, 'resnet20': resnet20, 'resnet1d': resnet1d}


def read_safetensors(path):
    """name -> tensor, and the metadata, of a safetensors file (F32/I32 only)."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop('__metadata__', {})
    dtypes = {'F32': torch.float32, 'I32': torch.int32}
    out = {}
    for name, h in header.items():
        b, e = h['data_offsets']
        t = torch.frombuffer(bytearray(data[b:e]), dtype=dtypes[h['dtype']]) if e > b else torch.zeros(0, dtype=dtypes[h['dtype']])
        out[name] = t.reshape(h['shape'])
    return out, meta


def load_run(run_dir):
    """The encoder of an imix run folder as a PyTorch module (eval mode)."""
    with open(os.path.join(run_dir, 'config.json')) as f:
        cfg = json.load(f)
    enc = cfg['encoder']
    if enc['kind'] not in BUILDERS:
        raise SystemExit(f"{run_dir}: encoder kind {enc['kind']!r} is not a ResNet (MLP encoders load into nn.Sequential)")
    net = BUILDERS[enc['kind']](cfg['sampleShape'][0], enc.get('width', 1.0))
    state, _ = read_safetensors(os.path.join(run_dir, 'encoder.safetensors'))
    # imix does not count BatchNorm steps (num_batches_tracked): torch's stay as constructed.
    missing, unexpected = net.load_state_dict(state, strict=False)
    bad = [k for k in missing if not k.endswith('num_batches_tracked')] + list(unexpected)
    if bad:
        raise SystemExit(f'{run_dir}: encoder.safetensors does not match the network: {bad[:5]}')
    return net.eval()


if __name__ == '__main__':
    if len(sys.argv) != 2:
        raise SystemExit('usage: python3 scripts/imix_resnet.py RUN_DIR')
    net = load_run(sys.argv[1])
    with open(os.path.join(sys.argv[1], 'config.json')) as f:
        shape = json.load(f)['sampleShape']
    torch.manual_seed(0)
    with torch.no_grad():
        y = net(torch.rand(4, *shape))
    print(f'{sum(p.numel() for p in net.parameters())} parameters; features of 4 random samples {tuple(y.shape)}:')
    print(y[:, :8])
