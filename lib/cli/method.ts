/**
 * Building a method from command-line settings, and rebuilding it from a
 * run folder's checkpoint configuration. Which methods there are, their own
 * options and how each is constructed come from the method registry
 * (lib/methods/registry.ts); reading a checkpoint's configuration back is
 * the library's (lib/run.ts, which `loadRun` from code uses too): this
 * module adds the command line's errors and flags.
 * @module
 */
import { type ContrastiveMethod, Tensor, type Device, ops } from '../index';
import type { Precision } from '../util/options';
import { type MethodEntry, methodEntry } from '../methods/registry';
import { type MethodSettings, buildView, createFromSettings, isViewPair, methodFromConfig, settingsFromConfig as librarySettingsFromConfig } from '../run';
import { CliError, UsageError, flagMessage } from './errors';
import { formatViews, type ViewNeeds, viewNeeds } from './views';
import { configFile, readRunConfig } from './run-folder';

export { type MethodSettings, buildView };

const cliError = (m: string) => new CliError(m);

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
  const steps = isViewPair(views) ? [...views[0], ...views[1]] : views;
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
 * Constructs the method (its gemms at `options.precision`, default fp32:
 * check it first with {@link checkPrecision}). Errors the library raises for
 * option values are usage errors naming the CLI flag (e.g. `--alpha:
 * expected a positive number`).
 */
export async function createMethod(s: MethodSettings, device: string, options: { fromConfig?: string; precision?: Precision } = {}): Promise<ContrastiveMethod> {
  const entry = entryOf(s.method, options.fromConfig);
  try {
    return await createFromSettings(entry, s, device as Device, options.precision);
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
 * Checks that `device` runs the gemms at `precision` before any work, with a
 * message naming --precision (a runtime error: the machine, not the command
 * line, lacks it).
 */
export function checkPrecision(precision: Precision, device: string): void {
  try {
    ops.checkPrecision(precision, device as Device);
  } catch (e) {
    const msg = (e as Error).message.replace(/^precision:\s*/, '');
    throw new CliError(`--precision ${precision}: ${msg}`);
  }
}

/**
 * Method settings from a checkpoint's configuration (lib/run.ts), checked by
 * its schema; a failure is a CliError naming the run's config.json.
 * `forTraining` requires views the CLI can rebuild; evaluation and
 * embedding do not use the views, so a custom view is replaced by the
 * identity there.
 */
export function settingsFromConfig(cfg: Record<string, unknown>, dir: string, forTraining: boolean): MethodSettings {
  return librarySettingsFromConfig(cfg, dir, forTraining, cliError);
}

/** Rebuilds the method of a run folder and loads its checkpoint (as the library's loadRun does). */
export async function loadRun(dir: string, device: string, options: { forTraining?: boolean } = {}): Promise<{ method: ContrastiveMethod; config: Record<string, unknown> }> {
  const config = readRunConfig(dir);
  const method = await methodFromConfig(config, dir, { device, forTraining: options.forTraining }, cliError);
  try {
    await method.load(dir);
  } catch (e) {
    method.dispose();
    throw e;
  }
  return { method, config };
}
