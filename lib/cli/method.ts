/**
 * Building a method from command-line settings, and rebuilding it from a
 * run folder's config.json (written by the method with every checkpoint).
 * Uses the public library API only.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BYOL, type ContrastiveMethod, type Device, MoCo, NPair, type OptimizerOptions, SimCLR, Tensor, views as V } from '../index';
import { CHECKPOINT_FILE, CONFIG_FILE, readCheckpointMeta } from '../methods/checkpoint';
import { CliError, UsageError, flagMessage } from './errors';
import { type EncoderSpecData, formatViews, isImageView, type MethodName, METHODS, type MixName, type ViewStep, viewsFromDescribe } from './options';

/** Everything that defines a method (what config.json records), as plain data. */
export interface MethodSettings {
  method: MethodName;
  encoder: EncoderSpecData;
  projection: [number, number];
  mix: { kind: MixName; alpha: number; perBatchLambda?: boolean };
  temperature?: number;
  /** MoCo: queue length K. */
  queueSize?: number;
  /** MoCo: key-network EMA momentum; BYOL: base target momentum m0. */
  momentum?: number;
  /** BYOL only (kept when rebuilding from a config). */
  symmetric?: boolean;
  predictorHidden?: number;
  /** One view list for both views, or one per view. */
  views: ViewStep[] | [ViewStep[], ViewStep[]];
  optimizer: OptimizerOptions;
  seed: number;
}

function buildStep(s: Exclude<ViewStep, { kind: 'identity' }>): V.View {
  switch (s.kind) {
    case 'drop':
      return V.inputDrop(s.p);
    case 'noise':
      return V.gaussianNoise(s.std);
    case 'crop':
      return V.randomCrop(s.pad);
    case 'flip':
      return V.horizontalFlip(s.p);
    case 'cropFlip':
      return V.randomCropFlip(s.pad, s.p);
  }
}

/**
 * The library view of a step list: `compose` of the steps in order (the
 * k-th step reads stream slot k), `none` steps dropped. A `cropFlip` step
 * (`crop:PAD+flip:P` on the command line) is the fused randomCropFlip.
 */
function buildView(steps: ViewStep[]): V.View {
  return V.compose(...steps.flatMap((s) => (s.kind === 'identity' ? [] : [buildStep(s)])));
}

function isPair(v: MethodSettings['views']): v is [ViewStep[], ViewStep[]] {
  return v.length === 2 && Array.isArray(v[0]);
}

/**
 * Image views (crop, flip) need `[C, H, W]` samples. Throws a one-line
 * error naming --views (or the run's config.json) for other data, so a
 * wrong combination stops before training rather than at the first step.
 */
export function checkViews(views: MethodSettings['views'], sampleShape: number[], fromConfig?: string): void {
  if (sampleShape.length === 3) return;
  const steps = isPair(views) ? [...views[0], ...views[1]] : views;
  const img = steps.find(isImageView);
  if (!img) return;
  const what = `${formatViews([img])} needs image samples [C, H, W], got samples of shape [${sampleShape.join(', ')}]`;
  if (fromConfig) throw new CliError(`${fromConfig}: cannot rebuild the method from config.json (the views: ${what})`);
  throw new UsageError(`--views: ${what}; use drop:P or noise:STD for non-image data`);
}

/**
 * Constructs the method. Errors the library raises for option values are
 * usage errors naming the CLI flag (e.g. `--alpha: expected a positive number`).
 */
export function createMethod(s: MethodSettings, device: string, options: { fromConfig?: string } = {}): ContrastiveMethod {
  const views = isPair(s.views) ? ([buildView(s.views[0]), buildView(s.views[1])] as [V.View, V.View]) : buildView(s.views);
  const common = {
    encoder: s.encoder,
    projection: s.projection,
    mix: s.mix,
    temperature: s.temperature,
    views,
    optimizer: s.optimizer,
    seed: s.seed,
    device: device as Device,
  };
  let m: ContrastiveMethod;
  try {
    switch (s.method) {
      case 'npair':
        m = new NPair(common);
        break;
      case 'simclr':
        m = new SimCLR(common);
        break;
      case 'moco':
        m = new MoCo({ ...common, queueSize: s.queueSize, momentum: s.momentum });
        break;
      case 'byol':
        m = new BYOL({ ...common, momentum: s.momentum, symmetric: s.symmetric, predictorHidden: s.predictorHidden });
        break;
      default:
        throw new UsageError(`--method: unknown method '${String(s.method)}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const msg = (e as Error).message;
    if (options.fromConfig) throw new CliError(`${options.fromConfig}: cannot rebuild the method from config.json (${msg})`);
    throw new UsageError(flagMessage(msg));
  }
  return m;
}

/** Checks that `device` exists before any work, with a message naming --device. */
export function checkDevice(device: string): void {
  if (device === 'cpu') return;
  try {
    Tensor.zeros([1], { device: device as Device }).dispose();
  } catch (e) {
    const msg = (e as Error).message.replace(/^device:\s*/, '');
    throw new CliError(`--device ${device}: ${msg}`);
  }
}

export { CHECKPOINT_FILE, CONFIG_FILE };

/**
 * Checks that `dir` is a run folder with a checkpoint; returns the run's
 * configuration, read from the checkpoint itself (config.json beside it is
 * a readable copy that a kill between the two files' writes can leave
 * missing or one checkpoint behind).
 */
export function readRunConfig(dir: string): Record<string, unknown> {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new CliError(`${dir}: no such run folder`);
  }
  if (!st.isDirectory()) throw new CliError(`${dir}: not a run folder (expected a directory holding ${CHECKPOINT_FILE})`);
  if (!fs.existsSync(path.join(dir, CHECKPOINT_FILE)))
    throw new CliError(`${dir}: no ${CHECKPOINT_FILE} in this folder (not a run folder, or no epoch finished yet)`);
  return readCheckpointMeta(dir).config;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Method settings from a config.json. `forTraining` requires views the CLI
 * can rebuild; evaluation and embedding do not use the views, so a custom
 * view is replaced by the identity there.
 */
export function settingsFromConfig(cfg: Record<string, unknown>, dir: string, forTraining: boolean): MethodSettings {
  const bad = (what: string) => new CliError(`${path.join(dir, CONFIG_FILE)}: ${what}`);
  const method = cfg.method;
  if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method)) throw bad(`unknown method '${String(method)}'`);
  const enc = cfg.encoder as Record<string, unknown> | undefined;
  let encoder: EncoderSpecData;
  if (enc?.kind === 'mlp' && Array.isArray(enc.hidden) && enc.hidden.every((w) => Number.isInteger(w) && (w as number) > 0))
    encoder = { kind: 'mlp', hidden: enc.hidden as number[], ...(enc.batchNorm === false ? { batchNorm: false } : {}) };
  else if (enc?.kind === 'tabular') encoder = { kind: 'tabular', ...(isNum(enc.scale) ? { scale: enc.scale } : {}) };
  else if (enc?.kind === 'module') throw bad('the encoder is a custom Module (trained from code); the CLI can only rebuild mlp and tabular encoders');
  else throw bad(`unknown encoder ${JSON.stringify(enc)}`);
  const proj = cfg.projection;
  if (!Array.isArray(proj) || proj.length !== 2 || !proj.every((w) => Number.isInteger(w) && (w as number) > 0)) throw bad(`bad projection ${JSON.stringify(proj)}`);
  const mix = cfg.mix as Record<string, unknown> | undefined;
  if (!mix || !['none', 'mixup', 'cutmix'].includes(mix.kind as string)) throw bad(`bad mix ${JSON.stringify(mix)}`);
  const rawViews = Array.isArray(cfg.views) ? cfg.views : [cfg.views, cfg.views];
  let v0 = viewsFromDescribe(rawViews[0]), v1 = viewsFromDescribe(rawViews[1]);
  if (!v0 || !v1) {
    if (forTraining) throw bad(`views ${JSON.stringify(cfg.views)} cannot be rebuilt by the CLI`);
    v0 = v0 ?? [];
    v1 = v1 ?? [];
  }
  const same = JSON.stringify(v0) === JSON.stringify(v1);
  const optimizer = (cfg.optimizer && typeof cfg.optimizer === 'object' ? cfg.optimizer : {}) as OptimizerOptions;
  const seed = cfg.seed;
  if (!Number.isSafeInteger(seed) || (seed as number) < 0) throw bad(`bad seed ${JSON.stringify(seed)}`);
  const s: MethodSettings = {
    method: method as MethodName,
    encoder,
    projection: [proj[0] as number, proj[1] as number],
    mix: {
      kind: mix.kind as MixName,
      alpha: isNum(mix.alpha) ? mix.alpha : 1,
      ...(typeof mix.perBatchLambda === 'boolean' ? { perBatchLambda: mix.perBatchLambda } : {}),
    },
    views: same ? v0 : [v0, v1],
    optimizer,
    seed: seed as number,
  };
  if (isNum(cfg.temperature)) s.temperature = cfg.temperature;
  if (isNum(cfg.queueSize)) s.queueSize = cfg.queueSize;
  if (isNum(cfg.momentum)) s.momentum = cfg.momentum;
  if (typeof cfg.symmetric === 'boolean') s.symmetric = cfg.symmetric;
  if (isNum(cfg.predictorHidden)) s.predictorHidden = cfg.predictorHidden;
  return s;
}

/** Rebuilds the method of a run folder and loads its checkpoint. */
export async function loadRun(dir: string, device: string, options: { forTraining?: boolean } = {}): Promise<{ method: ContrastiveMethod; config: Record<string, unknown> }> {
  const config = readRunConfig(dir);
  const settings = settingsFromConfig(config, dir, options.forTraining ?? false);
  const method = createMethod(settings, device, { fromConfig: dir });
  await method.load(dir);
  return { method, config };
}
