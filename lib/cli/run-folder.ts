/**
 * The run folder `imix train` writes, and everything that reads it back:
 *   run.json               the command-line settings (data, epochs, batch, ...)
 *   config.json            a readable copy of the checkpoint's configuration
 *   checkpoint.safetensors every epoch, on Ctrl-C and at --max-steps
 *   metrics.jsonl          step and epoch records
 *   loss.svg               loss and kNN accuracy per epoch
 *   standardizer.json      per-feature mean/std fitted on the training split (--standardize)
 *   csv-schema.json        CSV data: the columns, categories and label classes
 * Each file's name, its reading (checked by its schema, lib/cli/schemas.ts),
 * writing and clearing are here, and the folder's writer lock. Everything
 * but metrics.jsonl is written atomically; nothing is written before the
 * run's first step (see startRun).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import type { data } from '../index';
import { fsStep, writeFileAtomic } from '../io/atomic';
import { lockRunDir } from '../io/lock';
import { CHECKPOINT_FILE, CONFIG_FILE, prepareCheckpointDir, readCheckpointMeta, refreshConfigCopy } from '../methods/checkpoint';
import { CliError } from './errors';
import { MetricsLog, type MetricsRecord, readMetrics, recordsUpTo } from './metrics';
import { csvSchemaSchema, parseFile, type RunFile, runFileSchema, type SavedStandardizer, standardizerSchema } from './schemas';

type CsvSchema = NonNullable<data.LoadedDataset['schema']>;

/** refreshConfigCopy(dir): rewrites config.json from the checkpoint if a kill between their writes left it missing or stale. */
export { CHECKPOINT_FILE, CONFIG_FILE, refreshConfigCopy };
export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';
export const PLOT_FILE = 'loss.svg';
export const STANDARDIZER_FILE = 'standardizer.json';
export const CSV_SCHEMA_FILE = 'csv-schema.json';

/** Every file imix writes in a run folder, the checkpoint first (clearRun removes them in this order). */
const RUN_FILES = [CHECKPOINT_FILE, CONFIG_FILE, RUN_FILE, METRICS_FILE, PLOT_FILE, STANDARDIZER_FILE, CSV_SCHEMA_FILE];

/**
 * One JSON file of the run, checked by `schema`: undefined when it does not
 * exist; not JSON, or another `format`, is `damaged (not <what>)`.
 */
function readJsonFile<T>(file: string, format: string, schema: z.ZodType<T>, what: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // reported below
  }
  if (!raw || typeof raw !== 'object' || (raw as { format?: unknown }).format !== format) throw new CliError(`${file}: damaged (not ${what})`);
  return parseFile(schema, raw, file);
}

/** The run's run.json, or null for a folder without one. */
export function readRunFile(dir: string): RunFile | null {
  return readJsonFile(path.join(dir, RUN_FILE), 'imix-run/1', runFileSchema, 'an imix run.json') ?? null;
}

export function writeRunFile(dir: string, run: RunFile): void {
  writeFileAtomic(path.join(dir, RUN_FILE), JSON.stringify(run, null, 2) + '\n');
}

/** The run's standardizer.json (the run standardizes its input). */
export function readStandardizer(dir: string): SavedStandardizer {
  const file = path.join(dir, STANDARDIZER_FILE);
  const s = readJsonFile(file, 'imix-standardizer/1', standardizerSchema, 'an imix standardizer');
  if (!s) throw new CliError(`${file}: missing (run.json says the run standardizes its input)`);
  return s;
}

export function writeStandardizer(dir: string, s: SavedStandardizer): void {
  writeFileAtomic(path.join(dir, STANDARDIZER_FILE), JSON.stringify(s) + '\n');
}

/** Whether a run standardizes its input: run.json's record (a run folder without one: whether it holds standardizer.json). */
export function runStandardizes(dir: string, recorded: 'on' | 'off' | undefined): boolean {
  return recorded !== undefined ? recorded === 'on' : fs.existsSync(path.join(dir, STANDARDIZER_FILE));
}

/** The run's CSV schema, or undefined when the run was not trained on a CSV. */
export function readCsvSchema(dir: string): CsvSchema | undefined {
  return readJsonFile(path.join(dir, CSV_SCHEMA_FILE), 'imix-csv-schema', csvSchemaSchema, 'an imix CSV schema');
}

export function writeCsvSchema(dir: string, schema: CsvSchema): void {
  writeFileAtomic(path.join(dir, CSV_SCHEMA_FILE), JSON.stringify(schema, null, 1) + '\n');
}

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

/** config.json of the run in `dir`, as errors name it. */
export function configFile(dir: string): string {
  return path.join(dir, CONFIG_FILE);
}

/** The metrics.jsonl records of the run up to its checkpoint at `at` (later ones were written by a killed process). */
export function metricsUpTo(dir: string, at: { step: number; epoch: number }): MetricsRecord[] {
  return recordsUpTo(readMetrics(path.join(dir, METRICS_FILE)), at);
}

export function writePlot(dir: string, svg: string): void {
  writeFileAtomic(path.join(dir, PLOT_FILE), svg);
}

/**
 * Refuses a folder that holds a run, unless `force`: any of the run's files
 * makes it one (a run stopped before its first checkpoint has run.json and
 * metrics.jsonl only, and a new run must neither mix with nor append to them).
 */
export function refuseHeldRun(dir: string, force: boolean | undefined): void {
  const held = [CHECKPOINT_FILE, CONFIG_FILE, RUN_FILE, METRICS_FILE].filter((f) => fs.existsSync(path.join(dir, f)));
  if (!held.length || force) return;
  if (held.includes(CHECKPOINT_FILE))
    throw new CliError(`${dir} already holds a run (${CHECKPOINT_FILE}); continue it with --resume ${dir}, or pass --force to start over, or choose another --out`);
  throw new CliError(`${dir} already holds a run that stopped before its first checkpoint (${held.join(', ')}); pass --force to start over, or choose another --out`);
}

/**
 * Removes the files a previous run left in `dir` (only imix's own files),
 * the checkpoint first: from then on the folder is not a run that resumes,
 * so a kill part-way leaves a folder that a new run (with --force) replaces.
 */
function clearRun(dir: string): void {
  for (const f of RUN_FILES) {
    fs.rmSync(path.join(dir, f), { force: true });
    fsStep(`remove ${f}`);
  }
}

/** What a run writes at its first step. */
export interface RunStart {
  run: RunFile;
  /** A new run (not resumed): the previous run's files are cleared first, and these written. */
  fresh?: { standardizer?: SavedStandardizer; csvSchema?: CsvSchema };
  /** A resumed run's checkpoint: metrics.jsonl keeps the records up to it. */
  from?: { step: number; epoch: number };
}

/**
 * Writes the run's files at its first step (a new run first clears the old
 * run's) and returns the opened metrics log. Not earlier: a command that
 * fails before its first step (on its data, model or device) leaves the
 * folder, and any run --force would replace, as it was.
 */
export function startRun(dir: string, s: RunStart): MetricsLog {
  if (s.fresh) {
    clearRun(dir);
    if (s.fresh.standardizer) writeStandardizer(dir, s.fresh.standardizer);
    if (s.fresh.csvSchema) writeCsvSchema(dir, s.fresh.csvSchema);
  }
  writeRunFile(dir, s.run);
  return new MetricsLog(path.join(dir, METRICS_FILE), s.from);
}

/**
 * Takes the writer's lock on the run folder for this process (`flag` names
 * it in errors), creating the folder if needed. Returns the release
 * function, which also removes the folder again if this call created it and
 * nothing was written into it (a command that failed before its first step).
 */
export function lockRun(flag: string, dir: string): () => void {
  const existed = fs.existsSync(dir);
  try {
    prepareCheckpointDir(dir, flag); // writable, or one line naming the flag
    const release = lockRunDir(dir, flag);
    return () => {
      release();
      if (!existed) {
        try {
          fs.rmdirSync(dir); // only if still empty
        } catch {
          // the run's files are in it
        }
      }
    };
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}
