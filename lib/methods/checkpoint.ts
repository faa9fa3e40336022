/**
 * Checkpoints: one safetensors file holding every state tensor, with the run's
 * configuration and counters as JSON in its metadata, so tensors, counters
 * and configuration can never disagree and the file alone is a complete
 * run: config.json beside it is a readable copy, rewritten with each
 * checkpoint, that nothing reads back. Both files are written atomically.
 *
 * The metadata is checked against one schema ({@link checkpointMetaSchema})
 * before anything is built from it, and every size in it is bounded.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { sampleShapeSchema } from '../util/schemas';
import { ArgumentError, DataError } from '../errors';
import { adamwHyperparameters, larsHyperparameters, sgdHyperparameters } from '../optim/index';
import { makeDirs, writeFileAtomic } from '../io/atomic';
import { lockRunDir } from '../io/lock';
import { loadSafetensors, readSafetensorsMetadata, saveSafetensors, type StoredTensor } from '../io/safetensors';
import type { Tensor } from '../tensor';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const CONFIG_FILE = 'config.json';
/** The command line's settings of a run (lib/cli/run-folder.ts writes it at a run's first step). */
export const RUN_FILE = 'run.json';
/** The command line's step and epoch records (lib/cli/metrics.ts). */
export const METRICS_FILE = 'metrics.jsonl';
/**
 * The files that make a folder hold a run: a checkpoint and its config.json
 * (the library's and the CLI's), and the command line's run.json and
 * metrics.jsonl (a CLI run stopped before its first checkpoint has only
 * these). A new run must neither mix with nor append to them.
 */
export const RUN_MARKER_FILES = [CHECKPOINT_FILE, CONFIG_FILE, RUN_FILE, METRICS_FILE] as const;

/** Which of {@link RUN_MARKER_FILES} are in `dir` (none: the folder holds no run). */
export function heldRunFiles(dir: string): string[] {
  return RUN_MARKER_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
}

/** `dir` resolved through symlinks (as far as it exists), so two spellings of one folder compare equal. */
export function canonicalDir(dir: string): string {
  const abs = path.resolve(dir);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

/**
 * `fit`'s guard for `checkpointDir`: refuses a folder that holds another run
 * (any of {@link RUN_MARKER_FILES}) unless `overwrite`. The model's own run
 * is not another: `own` is the folder the model last loaded from or saved
 * to (canonical), so a resumed or continued fit writes on.
 */
export function refuseOtherRun(dir: string, own: string | null, overwrite: boolean): void {
  if (overwrite) return;
  const held = heldRunFiles(dir);
  if (!held.length || (own !== null && own === canonicalDir(dir))) return;
  throw new ArgumentError(
    `checkpointDir: ${dir} already holds another run (${held.join(', ')}); load it first to continue it (await model.load(${JSON.stringify(dir)})), pass overwrite: true to replace it, or choose another checkpointDir`,
  );
}

/** A ResNet encoder's tensors under PyTorch names, written beside each of its checkpoints (an export for PyTorch; never read back). */
export const ENCODER_FILE = 'encoder.safetensors';
const FORMAT = 'imix-checkpoint/1';

export { MAX_SAMPLE_FEATURES } from '../util/schemas';

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * The configuration a checkpoint records (the model's config()): the keys
 * every method has are typed here; each method's own options (queueSize,
 * momentum, ...) pass through and are compared by load() with the model's.
 */
const configSchema = z.looseObject({
  method: z.string(),
  encoder: z.looseObject({ kind: z.string() }),
  projection: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  mix: z.looseObject({ kind: z.enum(['none', 'mixup', 'cutmix']) }),
  temperature: z.number().positive(),
  seed: count,
  optimizer: z.looseObject({ kind: z.string(), lr: z.number().positive() }),
  views: z.array(z.unknown()),
  sampleShape: sampleShapeSchema,
});

/** The checkpoint file's metadata (`__metadata__.imix`, JSON). */
export const checkpointMetaSchema = z.strictObject({
  format: z.literal(FORMAT),
  config: configSchema,
  architecture: z.string(),
  step: count,
  epoch: count,
  optimizerSteps: count,
  scalars: z.record(z.string(), z.number().refine(Number.isFinite, { message: 'must be finite' })).default({}),
});
export type CheckpointMeta = z.infer<typeof checkpointMetaSchema>;
/** A checkpoint's configuration and counters, as read (checked by the schema). */
export type CheckpointData = Omit<CheckpointMeta, 'format'>;
/** What save() writes: the model's config() and counters (the schema checks them when read back). */
export type CheckpointInput = Omit<CheckpointData, 'config'> & { config: Record<string, unknown> };

/** A zod failure as one line naming the field: `config.sampleShape[0]: ...`. */
export function zodMessage(e: z.ZodError): string {
  const i = e.issues[0]!;
  const where = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  return `${where || 'metadata'}: ${i.message}`;
}

/**
 * Makes sure `dir` is a folder a checkpoint can be written to, creating it if
 * needed; fit calls this before the first step so a bad path fails at once,
 * not after an epoch of training. `what` names the argument in the error.
 */
export function prepareCheckpointDir(dir: string, what: string): void {
  if (typeof dir !== 'string' || dir === '') throw new ArgumentError(`${what}: expected a folder path, got ${JSON.stringify(dir)}`);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    // Does not exist (or cannot be looked at): creating it says which.
  }
  if (st && !st.isDirectory()) throw new ArgumentError(`${what}: ${dir} exists and is not a folder`);
  try {
    if (!st) makeDirs(dir);
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    throw new ArgumentError(`${what}: cannot write checkpoints to ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Writes the checkpoint, then its readable config.json, holding the folder's writer lock. */
export function saveCheckpoint(
  dir: string,
  c: CheckpointInput & { tensors: Record<string, Tensor<'float32'>>; encoder?: Array<[string, Tensor<'float32'>]> },
): void {
  const stored = (t: Tensor<'float32'>): StoredTensor => ({ shape: t.shape, data: t.toArray() as Float32Array });
  const tensors: Record<string, StoredTensor> = {};
  for (const [k, t] of Object.entries(c.tensors)) tensors[k] = stored(t);
  const meta = { format: FORMAT, config: c.config, architecture: c.architecture, step: c.step, epoch: c.epoch, optimizerSteps: c.optimizerSteps, scalars: c.scalars };
  prepareCheckpointDir(dir, 'dir');
  const release = lockRunDir(dir, 'dir');
  try {
    // The encoder alone, one tensor per parameter and buffer under its PyTorch
    // name (`layer1.0.conv1.weight`): what load_state_dict takes (scripts/imix_resnet.py).
    // An export: load() reads the checkpoint, never this file.
    if (c.encoder)
      saveSafetensors(path.join(dir, ENCODER_FILE), Object.fromEntries(c.encoder.map(([k, t]) => [k, stored(t)])), {
        format: 'imix-encoder',
        encoder: JSON.stringify(c.config.encoder ?? null),
        sampleShape: JSON.stringify(c.config.sampleShape ?? null),
      });
    saveSafetensors(path.join(dir, CHECKPOINT_FILE), tensors, { imix: JSON.stringify(meta) });
    writeConfigCopy(dir, c);
  } finally {
    release();
  }
}

/** config.json's text for a checkpoint: its configuration and counters, readable. */
function configCopyText(c: Pick<CheckpointInput, 'config' | 'step' | 'epoch'>): string {
  return JSON.stringify({ ...c.config, step: c.step, epoch: c.epoch }, null, 2) + '\n';
}

function writeConfigCopy(dir: string, c: Pick<CheckpointInput, 'config' | 'step' | 'epoch'>): void {
  writeFileAtomic(path.join(dir, CONFIG_FILE), configCopyText(c));
}

/**
 * Rewrites config.json from the checkpoint when a kill between the two
 * writes left it missing or one checkpoint behind. The caller holds the
 * folder's writer lock. Returns whether it wrote.
 */
export function refreshConfigCopy(dir: string): boolean {
  const meta = readCheckpointMeta(dir);
  try {
    const have: unknown = JSON.parse(fs.readFileSync(path.join(dir, CONFIG_FILE), 'utf8'));
    if (isDeepStrictEqual(have, JSON.parse(configCopyText(meta)))) return false;
  } catch {
    // missing or damaged
  }
  writeConfigCopy(dir, meta);
  return true;
}

function checkpointFile(dir: string): string {
  const file = path.join(dir, CHECKPOINT_FILE);
  if (!fs.existsSync(file)) throw new DataError(`${dir}: no ${CHECKPOINT_FILE} here (not a run folder, or no epoch finished yet)`);
  return file;
}

/** Parses and checks a checkpoint's metadata; `file` names it in errors. */
function parseMeta(file: string, metadata: Record<string, string>): CheckpointData {
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.imix ?? '');
  } catch {
    throw new DataError(`${file}: not an imix checkpoint (missing or damaged metadata)`);
  }
  if (raw && typeof raw === 'object' && 'format' in raw && raw.format !== FORMAT)
    throw new DataError(`${file}: unsupported checkpoint format ${JSON.stringify(String(raw.format)).slice(0, 60)}`);
  const r = checkpointMetaSchema.safeParse(raw);
  if (!r.success) throw new DataError(`${file}: damaged checkpoint metadata: ${zodMessage(r.error)}`);
  const { format: _, ...data } = r.data;
  return data;
}

/** The configuration and counters of the checkpoint in `dir`, without reading its tensors. */
export function readCheckpointMeta(dir: string): CheckpointData {
  const file = checkpointFile(dir);
  return parseMeta(file, readSafetensorsMetadata(file));
}

export function loadCheckpoint(dir: string): CheckpointData & { tensors: Record<string, StoredTensor> } {
  const file = checkpointFile(dir);
  const { tensors, metadata } = loadSafetensors(file);
  return { ...parseMeta(file, metadata), tensors };
}

/**
 * The settings a checkpoint's state continues exactly only under, by option
 * name, read from a config() record (the architecture is compared on its
 * own): the optimizer's kind and effective hyperparameters (its defaults
 * filled in), the mixing, temperature, seed (data order and every random
 * draw), the views and the method's own options (`extraKeys`).
 */
function continuationSettings(cfg: Record<string, any>, extraKeys: string[]): Map<string, unknown> {
  const out = new Map<string, unknown>([
    ['seed', cfg.seed],
    ['temperature', cfg.temperature],
    ['mix.kind', cfg.mix?.kind],
    ['mix.alpha', cfg.mix?.alpha],
    ['mix.perBatchLambda', cfg.mix?.perBatchLambda],
    ['views', cfg.views],
  ]);
  const o = cfg.optimizer;
  if (o && typeof o === 'object' && typeof o.lr === 'number') {
    out.set('optimizer.kind', o.kind ?? 'sgd');
    const hp = o.kind === 'adamw' ? adamwHyperparameters(o, 'optimizer.') : o.kind === 'lars' ? larsHyperparameters(o, 'optimizer.') : sgdHyperparameters(o, 'optimizer.');
    for (const [k, v] of Object.entries(hp)) out.set(`optimizer.${({ beta1: 'betas[0]', beta2: 'betas[1]' } as Record<string, string>)[k] ?? k}`, v);
    out.set('optimizer.warmupEpochs', o.warmupEpochs ?? 0);
  }
  for (const k of extraKeys) out.set(k, cfg[k]);
  return out;
}

/**
 * Throws an ArgumentError naming the first setting in which the model's
 * config `mine` differs from the checkpoint's `ck` (settings an older
 * checkpoint did not record, and views made by custom functions, which
 * config() can only call 'custom', are not compared).
 */
export function checkSameSettings(ck: Record<string, unknown>, mine: Record<string, unknown>, extraKeys: string[], dir: string): void {
  const theirs = continuationSettings(ck, extraKeys);
  for (const [name, v] of continuationSettings(mine, extraKeys)) {
    const c = theirs.get(name);
    if (c === undefined) continue;
    if (name === 'views' && [c, v].some((vs) => Array.isArray(vs) && vs.includes('custom'))) continue;
    if (JSON.stringify(c) !== JSON.stringify(v))
      throw new ArgumentError(
        `${name}: the checkpoint in ${dir} was trained with ${JSON.stringify(c)}, this model has ${JSON.stringify(v)}; construct the model with the checkpoint's settings (its config.json lists them) to continue it`,
      );
  }
}
