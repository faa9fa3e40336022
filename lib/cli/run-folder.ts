/**
 * The run folder `imix train` writes, and everything that reads it back:
 *   run.json               the command-line settings (data, epochs, batch, ...)
 *   config.json            a readable copy of the checkpoint's configuration
 *   checkpoint.safetensors every epoch, on Ctrl-C and at --max-steps
 *   metrics.jsonl          step and epoch records
 *   loss.svg               loss and kNN accuracy per epoch
 *   standardizer.json      per-feature mean/std fitted on the training split (--standardize)
 *   csv-schema.json        CSV data: the columns, categories and label classes
 * Each file's name, its reading (checked by its schema: the library's readers
 * in lib/run.ts, which loadRun uses too, with the CLI's errors), writing and
 * clearing are here, and the folder's writer lock. Everything
 * but metrics.jsonl is written atomically; nothing is written before the
 * run's first step (see startRun).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { data } from '../index';
import { fsStep, writeFileAtomic } from '../io/atomic';
import { lockRunDir } from '../io/lock';
import { CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, RUN_FILE, heldRunFiles, prepareCheckpointDir, refreshConfigCopy } from '../methods/checkpoint';
import { CSV_SCHEMA_FILE, STANDARDIZER_FILE, readRunConfig as libraryRunConfig, readRunSettings, readSavedCsvSchema, readSavedStandardizer, runStandardizes } from '../run';
import { CliError } from './errors';
import { MetricsLog, type MetricsRecord, readMetrics, recordsUpTo } from './metrics';
import type { RunFile, SavedStandardizer } from './schemas';

type CsvSchema = NonNullable<data.LoadedDataset['schema']>;

/** refreshConfigCopy(dir): rewrites config.json from the checkpoint if a kill between their writes left it missing or stale. */
export { CHECKPOINT_FILE, CONFIG_FILE, CSV_SCHEMA_FILE, METRICS_FILE, RUN_FILE, STANDARDIZER_FILE, refreshConfigCopy, runStandardizes };
export const PLOT_FILE = 'loss.svg';

/** Every file imix writes in a run folder, the checkpoint first (clearRun removes them in this order). */
const RUN_FILES = [CHECKPOINT_FILE, CONFIG_FILE, RUN_FILE, METRICS_FILE, PLOT_FILE, STANDARDIZER_FILE, CSV_SCHEMA_FILE];

/** The files of a run folder are read by the library (lib/run.ts, as loadRun reads them); the CLI reports a damaged one as its own one-line error. */
const cliError = (m: string) => new CliError(m);

/** The run's run.json, or null for a folder without one. */
export function readRunFile(dir: string): RunFile | null {
  return readRunSettings(dir, cliError);
}

export function writeRunFile(dir: string, run: RunFile): void {
  writeFileAtomic(path.join(dir, RUN_FILE), JSON.stringify(run, null, 2) + '\n');
}

/** The run's standardizer.json (the run standardizes its input). */
export function readStandardizer(dir: string): SavedStandardizer {
  const s = readSavedStandardizer(dir, cliError);
  if (!s) throw new CliError(`${path.join(dir, STANDARDIZER_FILE)}: missing (run.json says the run standardizes its input)`);
  return s;
}

export function writeStandardizer(dir: string, s: SavedStandardizer): void {
  writeFileAtomic(path.join(dir, STANDARDIZER_FILE), JSON.stringify(s) + '\n');
}

/** The run's CSV schema, or undefined when the run was not trained on a CSV. */
export function readCsvSchema(dir: string): CsvSchema | undefined {
  return readSavedCsvSchema(dir, cliError);
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
  return libraryRunConfig(dir, cliError);
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
  const held = heldRunFiles(dir); // the files the library's fit refuses too (checkpointDir without overwrite)
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
