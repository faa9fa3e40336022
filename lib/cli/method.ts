/**
 * Building a method from command-line settings, and rebuilding it from a
 * run folder's checkpoint configuration. Which methods there are, their own
 * options and how each is constructed come from the method registry
 * (lib/methods/registry.ts). Uses the public library API only.
 * @module
 */
import { type ContrastiveMethod, type Device, type OptimizerOptions, Tensor, views as V } from '../index';
import { type MethodEntry, methodEntry } from '../methods/registry';
import { CliError, UsageError, flagMessage } from './errors';
import type { EncoderSpecData, MixName } from './options';
import { buildViews, formatViews, type ViewNeeds, type ViewStep, viewNeeds, viewsFromDescribe } from './views';
import { configFile, readRunConfig } from './run-folder';
import { configSchemaOf, parseFile } from './schemas';

/** Everything that defines a method (what config.json records), as plain data. */
export interface MethodSettings {
  method: string;
  encoder: EncoderSpecData;
  projection: [number, number];
  mix: { kind: MixName; alpha: number; perBatchLambda?: boolean };
  temperature?: number;
  /** One view list for both views, or one per view. */
  views: ViewStep[] | [ViewStep[], ViewStep[]];
  optimizer: OptimizerOptions;
  seed: number;
  /** The method's own options (the keys of its registry entry's `options`: MoCo's queueSize, ...). */
  own: Record<string, unknown>;
}

/**
 * The library view of a step list: `compose` of the steps in order (the
 * k-th step reads stream slot k), `none` steps dropped; a crop directly
 * followed by a flip (`crop:PAD+flip:P`, `rrc:…+flip:P`) is one fused step.
 */
export function buildView(steps: ViewStep[]): V.View {
  return buildViews(V, steps);
}

function isPair(v: MethodSettings['views']): v is [ViewStep[], ViewStep[]] {
  return v.length === 2 && Array.isArray(v[0]);
}

const NEEDS: Record<Exclude<ViewNeeds, 'any'>, { rank: number; what: string; hint: string }> = {
  image: { rank: 3, what: 'image samples [C, H, W]', hint: 'use drop:P or noise:STD for non-image data' },
  signal: { rank: 2, what: 'signal samples [C, L]', hint: 'use drop:P or noise:STD for data that is not a signal' },
};

/**
 * Image views (crop, flip, rrc, jitter, gray) need `[C, H, W]` samples and
 * signal views (shift, tcrop, scale) `[C, L]` ones. Throws a one-line error
 * naming --views (or the run's config.json) for other data, so a wrong
 * combination stops before training rather than at the first step.
 */
export function checkViews(views: MethodSettings['views'], sampleShape: number[], fromConfig?: string): void {
  const steps = isPair(views) ? [...views[0], ...views[1]] : views;
  for (const st of steps) {
    const needs = viewNeeds(st);
    if (needs === 'any' || sampleShape.length === NEEDS[needs].rank) continue;
    const what = `${formatViews([st])} needs ${NEEDS[needs].what}, got samples of shape [${sampleShape.join(', ')}]`;
    if (fromConfig) throw new CliError(`${fromConfig}: cannot rebuild the method from config.json (the views: ${what})`);
    throw new UsageError(`--views: ${what}; ${NEEDS[needs].hint}`);
  }
}

/** The registry entry of method `name`; `fromConfig`: the run folder whose configuration names it. */
export function entryOf(name: string, fromConfig?: string): MethodEntry {
  const entry = methodEntry(name);
  if (entry) return entry;
  if (fromConfig) throw new CliError(`${configFile(fromConfig)}: unknown method '${name}'`);
  throw new UsageError(`--method: unknown method '${name}'`);
}

/**
 * Constructs the method. Errors the library raises for option values are
 * usage errors naming the CLI flag (e.g. `--alpha: expected a positive number`).
 */
export async function createMethod(s: MethodSettings, device: string, options: { fromConfig?: string } = {}): Promise<ContrastiveMethod> {
  const entry = entryOf(s.method, options.fromConfig);
  const views = isPair(s.views) ? ([buildView(s.views[0]), buildView(s.views[1])] as [V.View, V.View]) : buildView(s.views);
  const { encoder, projection, mix, temperature, optimizer, seed } = s;
  try {
    return await entry.create({ encoder, projection, mix, temperature, views, optimizer, seed, device: device as Device, ...s.own });
  } catch (e) {
    const msg = (e as Error).message;
    if (options.fromConfig) throw new CliError(`${options.fromConfig}: cannot rebuild the method from config.json (${msg})`);
    throw new UsageError(flagMessage(msg));
  }
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

/**
 * The views of a configuration (as the library describes them) as the CLI's
 * view lists. One the CLI cannot rebuild (custom, from code) is an error for
 * training and the identity otherwise.
 */
function configViews(views: [string, string], forTraining: boolean, file: string): MethodSettings['views'] {
  let v0 = viewsFromDescribe(views[0]), v1 = viewsFromDescribe(views[1]);
  if (!v0 || !v1) {
    if (forTraining) throw new CliError(`${file}: views ${JSON.stringify(views)} cannot be rebuilt by the CLI`);
    v0 = v0 ?? [];
    v1 = v1 ?? [];
  }
  return JSON.stringify(v0) === JSON.stringify(v1) ? v0 : [v0, v1];
}

/**
 * Method settings from a checkpoint's configuration, checked by its schema
 * (the keys every method records and the method's own, from its registry
 * entry). `forTraining` requires views the CLI can rebuild; evaluation and
 * embedding do not use the views, so a custom view is replaced by the
 * identity there.
 */
export function settingsFromConfig(cfg: Record<string, unknown>, dir: string, forTraining: boolean): MethodSettings {
  const file = configFile(dir);
  const entry = entryOf(String(cfg.method), dir);
  const c = parseFile(configSchemaOf(entry.options), cfg, file, '');
  if (c.encoder.kind === 'module') throw new CliError(`${file}: the encoder is a custom Module (trained from code); the CLI can only rebuild mlp, tabular and resnet encoders`);
  const { kind, alpha = 1, perBatchLambda } = c.mix;
  return {
    method: entry.name,
    encoder: c.encoder,
    projection: c.projection,
    mix: { kind, alpha, ...(perBatchLambda !== undefined ? { perBatchLambda } : {}) },
    ...(c.temperature !== undefined ? { temperature: c.temperature } : {}),
    views: configViews(c.views, forTraining, file),
    optimizer: c.optimizer as OptimizerOptions,
    seed: c.seed,
    own: Object.fromEntries(Object.keys(entry.options.shape).flatMap((k) => (c[k] !== undefined ? [[k, c[k]]] : []))),
  };
}

/** Rebuilds the method of a run folder and loads its checkpoint. */
export async function loadRun(dir: string, device: string, options: { forTraining?: boolean } = {}): Promise<{ method: ContrastiveMethod; config: Record<string, unknown> }> {
  const config = readRunConfig(dir);
  const settings = settingsFromConfig(config, dir, options.forTraining ?? false);
  const method = await createMethod(settings, device, { fromConfig: dir });
  await method.load(dir);
  return { method, config };
}
