/**
 * One zod schema per file the command line persists in a run folder and
 * reads back: run.json here; standardizer.json, csv-schema.json and the
 * method settings of a checkpoint's configuration (config.json's content)
 * in lib/util/schemas.ts, since the library's loadRun reads them too (the
 * checkpoint metadata itself has its schema in lib/methods/checkpoint.ts).
 * Every object is strict (an unknown key is refused), and every check says
 * what the field should be, so a failure reads
 * `run.json: damaged: 'epochs' should be an integer >= 1, got "ten"`.
 * @module
 */
import { z } from 'zod';
import { MAX_IMAGE_SIDE } from '../data/images';
import { intSchema, parseChecked } from '../util/schemas';
import { CliError } from './errors';

const int = intSchema;

/** A CSV column: a header name or a 0-based index (negative counts from the end). */
const columnRef = z.union([z.string(), z.number().int()], { error: 'a column name or index' });

/** How the user named the data: the `--data`, `--labels`, `--label-column`, `--categorical`, `--missing`, `--image-size`, `--channels`, `--limit`, `--test`, `--test-labels` and `--holdout` options. */
const dataSpecSchema = z.strictObject({
  /** 'fashion-mnist' (default), a directory of IDX files or an image folder (`dir:test` for its test split), or a CSV/TSV, NPY or IDX file. */
  data: z.string().optional(),
  /** Labels file (.npy of integers or IDX) for a single NPY or IDX data file. */
  labels: z.string().optional(),
  /** CSV/TSV: the label column (a header name, or a 0-based index; negative counts from the end). */
  labelColumn: columnRef.optional(),
  /** CSV/TSV: columns to one-hot encode. */
  categorical: z.array(columnRef).optional(),
  /** CSV/TSV: missing cells are an error (default), or filled with the feature's mean or 0. */
  missing: z.enum(['error', 'mean', 'zero']).optional(),
  /**
   * Image folders: [H, W] every image is resized to. A run records the size
   * it read (the first image's when --image-size was not given), so that
   * --resume, eval and embed read the images at the same size.
   */
  imageSize: z.tuple([int(1).max(MAX_IMAGE_SIDE, { error: `an integer <= ${MAX_IMAGE_SIDE}` }), int(1).max(MAX_IMAGE_SIDE, { error: `an integer <= ${MAX_IMAGE_SIDE}` })], { error: 'two sizes [H, W]' }).optional(),
  /** Image folders: 1 (grayscale) or 3 (RGB) channels; recorded like imageSize. */
  channels: z.union([z.literal(1), z.literal(3)], { error: '1 or 3' }).optional(),
  /** Use only the first N training rows (of the training part, after a --holdout split). */
  limit: int(2).optional(),
  /** A test file for a single CSV/NPY/IDX data file: the same columns (a CSV is encoded with the training file's schema) or sample shape. */
  test: z.string().optional(),
  /** Labels file (.npy of integers or IDX) for an NPY or IDX test file. */
  testLabels: z.string().optional(),
  /** Hold out this fraction of the data's rows as the test split (stratified by the labels when the data has them; data.trainTestSplit). */
  holdout: z.number({ error: 'a fraction in (0, 1)' }).gt(0, { error: 'a fraction in (0, 1)' }).lt(1, { error: 'a fraction in (0, 1)' }).optional(),
  /** The seed of the --holdout split (the run's --seed). */
  holdoutSeed: int(0).optional(),
});
export type DataSpec = z.infer<typeof dataSpecSchema>;

/** run.json: the command-line settings of a run (enough to resume and to evaluate it). */
export const runFileSchema = z.strictObject({
  format: z.literal('imix-run/1'),
  created: z.string(),
  command: z.string(),
  /** The data as named on the command line (the bundled data by name, files by absolute path). */
  data: dataSpecSchema,
  epochs: int(1),
  batch: int(2),
  knnEvery: int(0).optional(),
  logEvery: int(1),
  /** The command-line spelling of the method settings, for reference only (the checkpoint is authoritative). */
  settings: z.record(z.string(), z.unknown(), { error: 'an object' }),
  /** Whether the input is standardized with standardizer.json (absent in runs from before --standardize: off). */
  standardize: z.enum(['on', 'off']).optional(),
});
export type RunFile = z.infer<typeof runFileSchema>;

// The schemas of the files the library reads back too (loadRun, lib/run.ts) live in lib/util/schemas.ts.
export { type ConfigSettings, type SavedStandardizer, configSchemaOf, configSettingsSchema, csvSchemaSchema, standardizerSchema } from '../util/schemas';

/**
 * `raw` parsed with `schema`. A failure is a CliError of one line naming
 * `file` and the field: `<file>: <lead>'<field>' should be <what>, got
 * <value>`, or `<file>: <lead>unknown key '<field>'`.
 */
export function parseFile<T>(schema: z.ZodType<T>, raw: unknown, file: string, lead = 'damaged: '): T {
  return parseChecked(schema, raw, file, lead, (m) => new CliError(m));
}
