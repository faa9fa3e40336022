/**
 * A method's options, checked and normalized in one place: the option
 * types, their key lists (any other key is an ArgumentError with a "did you
 * mean"), the rules each value must follow, and the defaults. The method
 * constructors call {@link resolveMethodOptions} before anything is built;
 * `build` makes the encoder and optimizer they describe.
 * @module
 */
import { ArgumentError, ShapeError, ValueError } from '../errors';
import { Module, numelOf, type ParameterStore } from '../nn/module';
import { mlp, projectionHead, tabularEncoder } from '../nn/presets';
import { resnet18, resnet1d, resnet20 } from '../nn/resnet';
import { checkPrecision } from '../ops/gemm';
import { AdamW, LARS, type Optimizer, SGD, adamwHyperparameters, larsHyperparameters, sgdHyperparameters } from '../optim/index';
import { Tensor, type Device } from '../tensor';
import {
  FLOAT32_MAX,
  MAX_MIX_ALPHA,
  MAX_PARAMETERS,
  MAX_RESNET_WIDTH,
  MAX_TABULAR_SCALE,
  MAX_WIDTH,
  RESNET_KINDS,
  isResNetKind,
  type ResNetKind,
  MIN_MIX_ALPHA,
  MIN_TEMPERATURE,
  type Precision,
  checkKeys,
  checkOptions,
} from '../util/options';
import { compose, inputDrop, type View } from './views';

/** How the query view is mixed (i-Mix). */
export interface MixOptions {
  /** 'none' (the baseline), 'mixup', or 'cutmix' (spatial [C, H, W] data only). */
  kind: 'none' | 'mixup' | 'cutmix';
  /** Beta(α, α) concentration; default 1. */
  alpha?: number;
  /** One λ for the whole batch instead of one per row (CutMix always uses one). */
  perBatchLambda?: boolean;
}

/** An encoder described as data (so checkpoints can rebuild it). */
export type EncoderSpec =
  | { kind: 'mlp'; hidden: number[]; batchNorm?: boolean }
  | { kind: 'tabular'; scale?: number }
  /** A convolutional encoder (lib/nn/resnet.ts); `width` multiplies every layer's channels (default 1). */
  | { kind: ResNetKind; width?: number };

export { isResNetKind, type ResNetKind } from '../util/options';
const RESNETS: Record<ResNetKind, { build: (c: number, o: { width?: number }) => Module; dims: 1 | 2 }> = {
  resnet18: { build: resnet18, dims: 2 },
  resnet20: { build: resnet20, dims: 2 },
  resnet1d: { build: resnet1d, dims: 1 },
};

export interface OptimizerOptions {
  kind?: 'sgd' | 'lars' | 'adamw';
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
  eta?: number;
  betas?: [number, number];
  /** Linear warmup length, in epochs; then cosine decay to 0. */
  warmupEpochs?: number;
}

export interface MethodOptions {
  /** The encoder f: a spec, or a Module (its first layer must take the data's feature count). */
  encoder: EncoderSpec | Module;
  /** Projection head g: [hidden, out] widths; default [512, 128]. */
  projection?: [number, number];
  mix?: MixOptions;
  /** Softmax temperature τ (contrastive methods); default 0.2. */
  temperature?: number;
  /** The two views t, t′; default inputDrop(0.2) for both. */
  views?: View | [View, View];
  optimizer?: OptimizerOptions;
  seed?: number;
  device?: Device;
  /**
   * The arithmetic of the Linear layers' gemms (MLP and tabular encoders,
   * projection heads, predictors; convolutions stay float32): `'fp32'`
   * (default) or `'bf16'`, bfloat16 products with float32 accumulation,
   * float32 weights, gradients, optimizer state and checkpoints (see
   * `ops.Precision`). `'bf16'` needs a CPU device with AVX512_BF16 and the
   * avx512 kernel set (`info().bf16`); elsewhere the constructor throws a
   * DeviceError naming `precision`. Like `device`, it is how the model
   * runs, not part of its configuration: a checkpoint continues at either.
   */
  precision?: Precision;
}

/** The keys of each options object (the compiler keeps the lists complete): any other key is an ArgumentError. */
const METHOD_OPTION_KEYS: { [K in keyof Required<MethodOptions>]: true } = {
  encoder: true,
  projection: true,
  mix: true,
  temperature: true,
  views: true,
  optimizer: true,
  seed: true,
  device: true,
  precision: true,
};
const MIX_OPTION_KEYS: { [K in keyof Required<MixOptions>]: true } = { kind: true, alpha: true, perBatchLambda: true };
const OPTIMIZER_OPTION_KEYS: { [K in keyof Required<OptimizerOptions>]: true } = {
  kind: true,
  lr: true,
  momentum: true,
  weightDecay: true,
  nesterov: true,
  eta: true,
  betas: true,
  warmupEpochs: true,
};
/** Optimizer options only some kinds take: given to another kind they would be ignored. */
const OPTIMIZER_KINDS_OF: Partial<Record<keyof OptimizerOptions, Array<'sgd' | 'lars' | 'adamw'>>> = {
  eta: ['lars'],
  betas: ['adamw'],
  nesterov: ['sgd', 'lars'],
};
/** Options of a method's `embed`. */
export interface EmbedOptions {
  /** Rows per forward pass (a positive integer); default 1024. Only memory use depends on it. */
  batchSize?: number;
}
export const EMBED_OPTION_KEYS: { [K in keyof Required<EmbedOptions>]: true } = { batchSize: true };

/**
 * The encoder `spec` describes, for samples of `sampleShape`, checked to
 * take them (a ShapeError naming the layer otherwise). MLPs flatten any
 * sample; ResNets need `[C, H, W]` images (resnet1d `[C, L]` signals).
 */
export function buildEncoder(spec: EncoderSpec | Module, sampleShape: readonly number[]): Module {
  const enc = spec instanceof Module ? spec : newEncoder(spec, sampleShape);
  enc.outShape(sampleShape); // throws a ShapeError naming the mismatch
  return enc;
}

function newEncoder(spec: EncoderSpec, sampleShape: readonly number[]): Module {
  const F = numelOf(sampleShape);
  if (spec.kind === 'mlp') return mlp([F, ...spec.hidden], { batchNorm: spec.batchNorm ?? true, lastActivation: true });
  if (spec.kind === 'tabular') return tabularEncoder(F, { scale: spec.scale });
  if (isResNetKind(spec.kind)) {
    const { build, dims } = RESNETS[spec.kind];
    if (sampleShape.length !== dims + 1)
      throw new ShapeError(
        `encoder: ${spec.kind} needs ${dims === 2 ? 'image samples [C, H, W]' : 'signal samples [C, L]'}, got samples of shape [${sampleShape.join(', ')}]` +
          (sampleShape.length === 1 ? ' (give the data its shape, e.g. --shape for .npy/CSV, or use an mlp encoder)' : ''),
      );
    return build(sampleShape[0]!, { width: spec.width });
  }
  throw new ArgumentError(`encoder: unknown kind '${(spec as { kind: string }).kind}'`);
}

/** The encoder's output feature count for samples of `sampleShape`. */
export function encoderFeatures(encoder: Module, sampleShape: readonly number[]): number {
  return numelOf(encoder.outShape(sampleShape));
}

/** Checks an EncoderSpec when the method is constructed, before any data is seen. */
function checkEncoderSpec(spec: EncoderSpec): void {
  if (spec.kind === 'mlp') {
    checkKeys(spec, ['kind', 'hidden', 'batchNorm'], 'encoder.', "an 'mlp' encoder's options");
    if (!Array.isArray(spec.hidden) || spec.hidden.length === 0 || !spec.hidden.every((w) => Number.isSafeInteger(w) && w > 0))
      throw new ValueError(`encoder.hidden: expected a non-empty list of positive integer widths, got ${JSON.stringify(spec.hidden)}`);
    const wide = spec.hidden.find((w) => w > MAX_WIDTH);
    if (wide !== undefined) throw new ValueError(`encoder.hidden: a layer of width ${wide} is wider than ${MAX_WIDTH} (2^24)`);
    if (spec.batchNorm !== undefined && typeof spec.batchNorm !== 'boolean')
      throw new ValueError(`encoder.batchNorm: expected a boolean, got ${JSON.stringify(spec.batchNorm)}`);
  } else if (spec.kind === 'tabular') {
    checkKeys(spec, ['kind', 'scale'], 'encoder.', "a 'tabular' encoder's options");
    if (spec.scale !== undefined) positiveNumber(spec.scale, 'encoder.scale');
    if (spec.scale !== undefined && spec.scale > MAX_TABULAR_SCALE)
      throw new ValueError(`encoder.scale: expected at most ${MAX_TABULAR_SCALE} (the widest layer is 8192 × scale), got ${spec.scale}`);
  } else if (isResNetKind(spec.kind)) {
    checkKeys(spec, ['kind', 'width'], 'encoder.', `a '${spec.kind}' encoder's options`);
    if (spec.width !== undefined) positiveNumber(spec.width, 'encoder.width');
    if (spec.width !== undefined && spec.width > MAX_RESNET_WIDTH)
      throw new ValueError(`encoder.width: expected at most ${MAX_RESNET_WIDTH}, got ${spec.width}`);
  } else {
    const kinds = ['mlp', 'tabular', ...RESNET_KINDS].map((k) => `'${k}'`);
    throw new ArgumentError(`encoder.kind: expected ${kinds.slice(0, -1).join(', ')} or ${kinds.at(-1)} (or pass a Module), got ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}

/**
 * The parameters the encoder (beyond its first layer, whose size depends on
 * the data) and the projection head will hold, counted from the layer
 * declarations (which allocate nothing), must stay within MAX_PARAMETERS.
 */
function checkNetworkSize(spec: EncoderSpec, projection: [number, number]): void {
  const count = (m: Module) => m.namedParameters().reduce((s, [, p]) => s + p.numel, 0);
  // The smallest sample each encoder takes: the count excludes the first layer's input side only.
  const sample = isResNetKind(spec.kind) ? [1, ...Array<number>(RESNETS[spec.kind].dims).fill(8)] : [1];
  const enc = newEncoder(spec, sample);
  const encoder = count(enc), head = count(projectionHead(encoderFeatures(enc, sample), projection[0], projection[1]));
  if (encoder + head <= MAX_PARAMETERS) return;
  const arg = encoder > head ? (spec.kind === 'tabular' ? 'encoder.scale' : spec.kind === 'mlp' ? 'encoder.hidden' : 'encoder.width') : 'projection';
  throw new ValueError(
    `${arg}: the encoder and projection head would hold ${encoder + head} parameters besides the first layer's, more than ${MAX_PARAMETERS} (2^31, 8 GiB of float32)`,
  );
}

function positiveNumber(v: unknown, arg: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ValueError(`${arg}: expected a positive number, got ${String(v)}`);
  return v;
}

/** A positive number the kernels can take as a float32 (a larger one would become Infinity there). */
function float32Positive(v: unknown, arg: string): number {
  const x = positiveNumber(v, arg);
  if (x > FLOAT32_MAX) throw new ValueError(`${arg}: expected at most ${FLOAT32_MAX} (the largest float32), got ${x}`);
  return x;
}

/** The optimizer settings with their defaults filled in. */
export type ResolvedOptimizerOptions = Required<Omit<OptimizerOptions, 'betas' | 'eta' | 'nesterov'>> & OptimizerOptions;

/** Every method option, checked, with its default. */
export interface ResolvedMethodOptions {
  encoderSpec: EncoderSpec | Module;
  mix: Required<MixOptions>;
  temperature: number;
  seed: number;
  device: Device;
  precision: Precision;
  projection: [number, number];
  optimizerOptions: ResolvedOptimizerOptions;
  views: [View, View];
}

/**
 * Checks every option (unknown keys included) and fills in the defaults.
 * `ownKeys` are the keys of the method's own options (MoCo's queueSize, ...),
 * checked by the method; `what` names the options in messages.
 */
export function resolveMethodOptions(o: MethodOptions, ownKeys: readonly string[], what: string): ResolvedMethodOptions {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new ArgumentError('options: expected an object');
  checkKeys(o, [...Object.keys(METHOD_OPTION_KEYS), ...ownKeys], '', `${what} options`);
  if (!o.encoder || typeof o.encoder !== 'object') throw new ArgumentError('encoder: required (an EncoderSpec or a Module)');
  if (!(o.encoder instanceof Module)) checkEncoderSpec(o.encoder);
  const mix = resolveMix(o.mix);
  const temperature = positiveNumber(o.temperature ?? 0.2, 'temperature');
  // Logits are cosines / τ: a smaller τ makes them float32 rounding noise (see MIN_TEMPERATURE).
  if (temperature < MIN_TEMPERATURE)
    throw new ValueError(`temperature: expected at least ${MIN_TEMPERATURE} (logits are cosine similarities / temperature), got ${temperature}`);
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new ValueError(`seed: expected a non-negative integer, got ${seed}`);
  const device = o.device ?? 'cpu';
  Tensor.zeros([1], { device }).dispose(); // a DeviceError now, not at the first step
  const precision = o.precision ?? 'fp32';
  checkPrecision(precision, device); // a ValueError or DeviceError now, too
  const projection = resolveProjection(o.projection);
  if (!(o.encoder instanceof Module)) checkNetworkSize(o.encoder, projection);
  return {
    encoderSpec: o.encoder,
    mix,
    temperature,
    seed,
    device,
    precision,
    projection,
    optimizerOptions: resolveOptimizer(o.optimizer),
    views: resolveViews(o.views),
  };
}

function resolveMix(given: MixOptions | undefined): Required<MixOptions> {
  checkOptions(given, Object.keys(MIX_OPTION_KEYS), 'mix');
  const mix = given ?? { kind: 'none' };
  if (!['none', 'mixup', 'cutmix'].includes(mix.kind)) throw new ValueError(`mix.kind: expected 'none', 'mixup' or 'cutmix', got '${mix.kind}'`);
  const alpha = mix.alpha ?? 1;
  if (typeof alpha !== 'number' || !(alpha > 0) || !Number.isFinite(alpha)) throw new ValueError(`mix.alpha: expected a positive number, got ${alpha}`);
  // Outside these bounds the Beta(α, α) draws of λ come out wrong (see MIN_MIX_ALPHA).
  if (alpha < MIN_MIX_ALPHA || alpha > MAX_MIX_ALPHA)
    throw new ValueError(`mix.alpha: expected a number from ${MIN_MIX_ALPHA} to ${MAX_MIX_ALPHA}, got ${alpha}`);
  const perBatchLambda = mix.perBatchLambda ?? mix.kind === 'cutmix';
  if (typeof perBatchLambda !== 'boolean') throw new ValueError(`mix.perBatchLambda: expected a boolean, got ${JSON.stringify(perBatchLambda)}`);
  return { kind: mix.kind, alpha, perBatchLambda };
}

function resolveProjection(given: [number, number] | undefined): [number, number] {
  const proj = given ?? [512, 128];
  if (!Array.isArray(proj) || proj.length !== 2 || !proj.every((w) => Number.isInteger(w) && w > 0))
    throw new ValueError(`projection: expected [hidden, out] positive integers, got ${JSON.stringify(proj)}`);
  if (proj.some((w) => w > MAX_WIDTH)) throw new ValueError(`projection: a layer of width ${Math.max(...proj)} is wider than ${MAX_WIDTH} (2^24)`);
  return proj;
}

function resolveOptimizer(given: OptimizerOptions | undefined): ResolvedOptimizerOptions {
  checkOptions(given, Object.keys(OPTIMIZER_OPTION_KEYS), 'optimizer');
  const opt = given ?? {};
  const oo: ResolvedOptimizerOptions = {
    ...opt,
    kind: opt.kind ?? 'sgd',
    lr: float32Positive(opt.lr ?? 0.05, 'optimizer.lr'),
    momentum: opt.momentum ?? 0.9,
    weightDecay: opt.weightDecay ?? 5e-4,
    warmupEpochs: opt.warmupEpochs ?? 0,
  };
  // Checked now with the optimizer's own rules (it is created when the data's shape is known).
  if (oo.kind === 'sgd') sgdHyperparameters(oo, 'optimizer.');
  else if (oo.kind === 'lars') larsHyperparameters(oo, 'optimizer.');
  else if (oo.kind === 'adamw') adamwHyperparameters(oo, 'optimizer.');
  else throw new ValueError(`optimizer.kind: expected 'sgd', 'lars' or 'adamw', got ${JSON.stringify(oo.kind)}`);
  if (typeof oo.warmupEpochs !== 'number' || !(oo.warmupEpochs >= 0) || !Number.isFinite(oo.warmupEpochs))
    throw new ValueError(`optimizer.warmupEpochs: expected a non-negative number, got ${oo.warmupEpochs}`);
  for (const [key, kinds] of Object.entries(OPTIMIZER_KINDS_OF))
    if (opt[key as keyof OptimizerOptions] !== undefined && !kinds.includes(oo.kind))
      throw new ArgumentError(`optimizer.${key}: only for optimizer.kind ${kinds.map((k) => `'${k}'`).join(' or ')}; this optimizer is '${oo.kind}'`);
  if (typeof oo.weightDecay === 'number' && oo.weightDecay > FLOAT32_MAX)
    throw new ValueError(`optimizer.weightDecay: expected at most ${FLOAT32_MAX} (the largest float32), got ${oo.weightDecay}`);
  return oo;
}

function resolveViews(given: View | [View, View] | undefined): [View, View] {
  const v = given ?? compose(inputDrop(0.2));
  const views = Array.isArray(v) ? (v as [View, View]) : ([v, v] as [View, View]);
  if (views.length !== 2 || !views.every((f) => typeof f === 'function'))
    throw new ArgumentError('views: expected a view function (see views.*) or a pair [query view, key view]');
  return views;
}

/** The optimizer `o` describes, over the parameters of `store`. */
export function createOptimizer(store: ParameterStore, o: ResolvedOptimizerOptions): Optimizer {
  if (o.kind === 'adamw') return new AdamW(store, { lr: o.lr, betas: o.betas, weightDecay: o.weightDecay });
  if (o.kind === 'lars') return new LARS(store, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, eta: o.eta, nesterov: o.nesterov });
  return new SGD(store, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.nesterov });
}
