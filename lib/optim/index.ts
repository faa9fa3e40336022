/**
 * Optimizers over a model's flat parameter buffer and the learning-rate and
 * EMA-momentum schedules. An optimizer owns its state (momentum or moment
 * buffers, the step count) and hyperparameters; each step is one kernel of
 * lib/ops/optim.ts over the whole store.
 * @module
 */
import { ValueError } from '../errors';
import type { ParameterStore } from '../nn/module';
import * as ops from '../ops/index';
import { Tensor } from '../tensor';

function positive(v: number, arg: string, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
    throw new ValueError(`${arg}: expected a ${allowZero ? 'non-negative' : 'positive'} finite number, got ${v}`);
  return v;
}
function unitOpen(v: number, arg: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new ValueError(`${arg}: expected a number in [0, 1), got ${v}`);
  return v;
}

/**
 * SGD's hyperparameters with their defaults, checked. `prefix` names the
 * arguments in errors (a method passes 'optimizer.' so they are not confused
 * with its own options, e.g. MoCo's EMA momentum).
 */
export function sgdHyperparameters(o: SGDOptions, prefix = '') {
  const lr = positive(o.lr, `${prefix}lr`, true);
  const momentum = unitOpen(o.momentum ?? 0.9, `${prefix}momentum`);
  const weightDecay = positive(o.weightDecay ?? 0, `${prefix}weightDecay`, true);
  const nesterov = o.nesterov ?? false;
  if (typeof nesterov !== 'boolean') throw new ValueError(`${prefix}nesterov: expected a boolean, got ${JSON.stringify(nesterov)}`);
  if (nesterov && momentum === 0) throw new ValueError(`${prefix}nesterov: needs momentum > 0`);
  return { lr, momentum, weightDecay, nesterov };
}

/** LARS's hyperparameters (SGD's and the trust coefficient η), checked. */
export function larsHyperparameters(o: LARSOptions, prefix = '') {
  return { ...sgdHyperparameters(o, prefix), eta: positive(o.eta ?? 0.001, `${prefix}eta`) };
}

/** AdamW's hyperparameters with their defaults, checked. */
export function adamwHyperparameters(o: AdamWOptions, prefix = '') {
  if (o.betas !== undefined && (!Array.isArray(o.betas) || o.betas.length !== 2))
    throw new ValueError(`${prefix}betas: expected [beta1, beta2], got ${JSON.stringify(o.betas)}`);
  return {
    lr: positive(o.lr, `${prefix}lr`, true),
    beta1: unitOpen(o.betas?.[0] ?? 0.9, `${prefix}betas[0]`),
    beta2: unitOpen(o.betas?.[1] ?? 0.999, `${prefix}betas[1]`),
    eps: positive(o.eps ?? 1e-8, `${prefix}eps`),
    weightDecay: positive(o.weightDecay ?? 0.01, `${prefix}weightDecay`, true),
  };
}

/** Common state: the store it steps, its step count and flat state buffers. */
export abstract class Optimizer {
  /** Number of steps taken. */
  steps = 0;
  constructor(
    readonly store: ParameterStore,
    public lr: number,
  ) {
    positive(lr, 'lr', true);
  }
  /** Applies one update from `store.grads` (lr overrides the current one, e.g. from a schedule). */
  abstract step(lr?: number): void;
  /** Optimizer state tensors by name (for checkpoints). */
  abstract state(): Record<string, Tensor<'float32'>>;
  dispose(): void {
    for (const t of Object.values(this.state())) t.dispose();
  }
  protected zerosLike(): Tensor<'float32'> {
    return Tensor.zeros([this.store.numel], { device: this.store.params.device });
  }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** SGD with momentum, Nesterov and weight decay (PyTorch semantics, dampening 0). */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  readonly buf: Tensor<'float32'>;
  constructor(store: ParameterStore, o: SGDOptions) {
    super(store, o.lr);
    ({ momentum: this.momentum, weightDecay: this.weightDecay, nesterov: this.nesterov } = sgdHyperparameters(o));
    this.buf = this.zerosLike();
  }
  step(lr = this.lr): void {
    this.lr = positive(lr, 'lr', true);
    this.update(lr);
    this.steps++;
  }
  /** The fused kernel call over the whole store (LARS calls its own with the same options and η). */
  protected update(lr: number): void {
    ops.sgdStep(this.store.params, this.store.grads, this.buf, this.kernelOptions(lr));
  }
  protected kernelOptions(lr: number): ops.SgdOptions {
    return { lr, momentum: this.momentum, weightDecay: this.weightDecay, nesterov: this.nesterov, segments: this.store.segments };
  }
  state() {
    return { momentum_buffer: this.buf };
  }
}

export interface LARSOptions extends SGDOptions {
  /** Trust coefficient η (0.001 in You et al.; BYOL uses 0.001 too). */
  eta?: number;
}

/** LARS: SGD whose per-tensor step is scaled by η‖p‖/‖g + wd·p‖; biases and BatchNorm excluded. */
export class LARS extends SGD {
  readonly eta: number;
  constructor(store: ParameterStore, o: LARSOptions) {
    super(store, o);
    this.eta = larsHyperparameters(o).eta;
  }
  protected override update(lr: number): void {
    ops.larsStep(this.store.params, this.store.grads, this.buf, { ...this.kernelOptions(lr), eta: this.eta });
  }
}

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** AdamW (decoupled weight decay), PyTorch semantics. */
export class AdamW extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly m: Tensor<'float32'>;
  readonly v: Tensor<'float32'>;
  constructor(store: ParameterStore, o: AdamWOptions) {
    super(store, o.lr);
    ({ beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay } = adamwHyperparameters(o));
    this.m = this.zerosLike();
    this.v = this.zerosLike();
  }
  step(lr = this.lr): void {
    this.lr = positive(lr, 'lr', true);
    this.steps++;
    ops.adamwStep(this.store.params, this.store.grads, this.m, this.v, {
      lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      step: this.steps,
      segments: this.store.segments,
    });
  }
  state() {
    return { exp_avg: this.m, exp_avg_sq: this.v };
  }
}

/**
 * Linear warmup from 0 to `baseLr` over `warmupSteps`, then cosine decay to
 * `finalLr` at `totalSteps`. Returns the learning rate for a 0-based step.
 */
export function warmupCosine(o: { baseLr: number; totalSteps: number; warmupSteps?: number; finalLr?: number }): (step: number) => number {
  const base = positive(o.baseLr, 'baseLr', true);
  const total = o.totalSteps;
  if (!Number.isInteger(total) || total < 1) throw new ValueError(`totalSteps: expected a positive integer, got ${total}`);
  const warm = o.warmupSteps ?? 0;
  if (!Number.isInteger(warm) || warm < 0 || warm > total) throw new ValueError(`warmupSteps: expected an integer in [0, ${total}], got ${warm}`);
  const final = positive(o.finalLr ?? 0, 'finalLr', true);
  return (step: number) => {
    if (step < warm) return (base * (step + 1)) / warm;
    const t = Math.min(1, (step - warm) / Math.max(1, total - warm));
    return final + 0.5 * (base - final) * (1 + Math.cos(Math.PI * t));
  };
}

/**
 * BYOL's EMA momentum schedule: m = 1 − (1 − m0)·(cos(π·step/total) + 1)/2,
 * rising from m0 at step 0 to 1 at the end.
 */
export function emaMomentum(m0: number, step: number, totalSteps: number): number {
  if (!(m0 >= 0 && m0 <= 1)) throw new ValueError(`m0: expected a number in [0, 1], got ${m0}`);
  const t = Math.min(1, Math.max(0, step / Math.max(1, totalSteps)));
  return 1 - (1 - m0) * (Math.cos(Math.PI * t) + 1) / 2;
}
