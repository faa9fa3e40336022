#!/usr/bin/env python3
"""Cuts the bundled Fashion-MNIST subset (data/fashion-mnist) out of Debian's
dataset-fashion-mnist package. Run once; the output is committed."""
import gzip
import struct
import sys

import numpy as np

SRC = sys.argv[1] if len(sys.argv) > 1 else '/usr/share/datasets/fashion-mnist/'


def read(name):
    b = gzip.open(SRC + name).read()
    magic = struct.unpack('>I', b[:4])[0]
    nd = magic & 0xFF
    dims = struct.unpack('>' + 'I' * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b[4 + 4 * nd:], dtype=np.uint8).reshape(dims), magic


def write(path, arr, magic):
    hdr = struct.pack('>I', magic) + b''.join(struct.pack('>I', d) for d in arr.shape)
    with gzip.open(path, 'wb', compresslevel=9) as f:
        f.write(hdr + arr.tobytes())


for split, n, pre in [('train', 10000, 'train'), ('test', 2000, 't10k')]:
    x, mx = read(pre + '-images-idx3-ubyte.gz')
    y, my = read(pre + '-labels-idx1-ubyte.gz')
    print(split, x[:n].shape, np.bincount(y[:n]))
    write(f'data/fashion-mnist/{split}-images-idx3-ubyte.gz', x[:n], mx)
    write(f'data/fashion-mnist/{split}-labels-idx1-ubyte.gz', y[:n], my)
