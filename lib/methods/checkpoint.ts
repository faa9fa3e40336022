/**
 * Checkpoints: one safetensors file holding every state tensor, with the run's
 * configuration and counters as JSON in its metadata, so tensors and counters
 * can never disagree; a readable copy of the configuration goes to
 * config.json beside it. Both files are written atomically.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArgumentError, DataError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { loadSafetensors, saveSafetensors, type StoredTensor } from '../io/safetensors';
import type { Tensor } from '../tensor';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'imix-checkpoint/1';

export interface CheckpointData {
  config: Record<string, unknown>;
  architecture: string;
  step: number;
  epoch: number;
  optimizerSteps: number;
  scalars: Record<string, number>;
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
    if (!st) fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    throw new ArgumentError(`${what}: cannot write checkpoints to ${dir} (${(e as Error).message})`);
  }
}

export function saveCheckpoint(dir: string, c: CheckpointData & { tensors: Record<string, Tensor<'float32'>> }): void {
  const tensors: Record<string, StoredTensor> = {};
  for (const [k, t] of Object.entries(c.tensors)) tensors[k] = { shape: t.shape, data: t.toArray() as Float32Array };
  const meta = { format: FORMAT, config: c.config, architecture: c.architecture, step: c.step, epoch: c.epoch, optimizerSteps: c.optimizerSteps, scalars: c.scalars };
  prepareCheckpointDir(dir, 'dir');
  saveSafetensors(path.join(dir, CHECKPOINT_FILE), tensors, { imix: JSON.stringify(meta) });
  writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify({ ...c.config, step: c.step, epoch: c.epoch }, null, 2) + '\n');
}

export function loadCheckpoint(dir: string): CheckpointData & { tensors: Record<string, StoredTensor> } {
  const file = path.join(dir, CHECKPOINT_FILE);
  if (!fs.existsSync(file)) throw new DataError(`${dir}: no ${CHECKPOINT_FILE} here (not a run folder, or no epoch finished yet)`);
  const { tensors, metadata } = loadSafetensors(file);
  let meta: Record<string, any>;
  try {
    meta = JSON.parse(metadata.imix ?? '');
  } catch {
    throw new DataError(`${file}: not an imix checkpoint (missing or damaged metadata)`);
  }
  if (meta.format !== FORMAT) throw new DataError(`${file}: unsupported checkpoint format '${String(meta.format)}'`);
  for (const k of ['step', 'epoch', 'optimizerSteps'])
    if (!Number.isInteger(meta[k]) || meta[k] < 0) throw new DataError(`${file}: damaged counter '${k}'`);
  return {
    config: meta.config,
    architecture: meta.architecture,
    step: meta.step,
    epoch: meta.epoch,
    optimizerSteps: meta.optimizerSteps,
    scalars: meta.scalars ?? {},
    tensors,
  };
}
