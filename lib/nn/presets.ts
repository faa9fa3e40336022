/**
 * Ready-made encoders and heads.
 * @module
 */
import { ValueError } from '../errors';
import { BatchNorm1d, Linear, Maxout, ReLU, Sequential } from './layers';
import type { Module } from './module';

/**
 * An MLP: Linear → (BatchNorm1d) → ReLU for every hidden width, then a last
 * Linear; `widths = [in, h1, …, out]`. With `lastActivation` the last layer
 * is followed by BatchNorm1d+ReLU too (an encoder whose output is a feature).
 */
export function mlp(widths: number[], options: { batchNorm?: boolean; lastActivation?: boolean; lastBatchNorm?: boolean } = {}): Sequential {
  if (!Array.isArray(widths) || widths.length < 2 || !widths.every((w) => Number.isInteger(w) && w > 0))
    throw new ValueError(`widths: expected at least two positive integers, got [${String(widths)}]`);
  const bn = options.batchNorm ?? true;
  const layers: Module[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    const last = i + 2 === widths.length;
    const act = !last || options.lastActivation;
    layers.push(new Linear(widths[i]!, widths[i + 1]!, { bias: !(bn && act) }));
    if (bn && act) layers.push(new BatchNorm1d(widths[i + 1]!));
    else if (last && options.lastBatchNorm) layers.push(new BatchNorm1d(widths[i + 1]!, { affine: false }));
    if (act) layers.push(new ReLU());
  }
  return new Sequential(...layers);
}

/**
 * The i-Mix paper's encoder for tabular (domain-agnostic) data: five
 * Linear+BatchNorm1d+ReLU layers of widths 2048-2048-4096-4096-8192, then a
 * maxout over groups of 4 to 2048 features. `scale` shrinks every width
 * (e.g. 0.25 for a laptop); features = 2048·scale.
 */
export function tabularEncoder(inFeatures: number, options: { scale?: number } = {}): Sequential {
  const s = options.scale ?? 1;
  if (!(s > 0) || !Number.isFinite(s)) throw new ValueError(`scale: expected a positive number, got ${s}`);
  const w = [2048, 2048, 4096, 4096, 8192].map((x) => Math.max(4, Math.round((x * s) / 4) * 4));
  const layers: Module[] = [];
  let f = inFeatures;
  for (const width of w) {
    layers.push(new Linear(f, width, { bias: false }), new BatchNorm1d(width), new ReLU());
    f = width;
  }
  layers.push(new Maxout(4));
  return new Sequential(...layers);
}

/** Projection head g: Linear → BatchNorm1d → ReLU → Linear (SimCLR / MoCo v2 style). */
export function projectionHead(inFeatures: number, hidden: number, out: number): Sequential {
  return mlp([inFeatures, hidden, out]);
}
