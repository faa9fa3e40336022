/**
 * One zod schema per file the command line persists in a run folder and
 * reads back: run.json, standardizer.json, csv-schema.json, and the method
 * settings of a checkpoint's configuration (config.json's content; the
 * checkpoint metadata itself has its schema in lib/methods/checkpoint.ts).
 * Every object is strict (an unknown key is refused), and every check says
 * what the field should be, so a failure reads
 * `run.json: damaged: 'epochs' should be an integer >= 1, got "ten"`.
 * @module
 */
import { z } from 'zod';
import { MAX_IMAGE_SIDE } from '../data/images';
import { clip } from '../data/limits';
import type { data } from '../index';
import { MAX_RESNET_WIDTH, RESNET_KINDS } from '../util/options';
import { sampleShapeSchema } from '../util/schemas';
import { CliError } from './errors';
import { MIXES } from './options';

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ').replace(/, ([^,]*)$/, ' or $1');

/** An integer >= min: one message for each of its checks (`'epochs' should be an integer >= 1, got "ten"`). */
function int(min: number) {
  const error = `an integer >= ${min}`;
  return z.number({ error }).int({ error }).min(min, { error });
}

/** A CSV column: a header name or a 0-based index (negative counts from the end). */
const columnRef = z.union([z.string(), z.number().int()], { error: 'a column name or index' });

/** How the user named the data: the `--data`, `--labels`, `--label-column`, `--categorical`, `--missing`, `--image-size`, `--channels` and `--limit` options. */
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
  /** Use only the first N training rows. */
  limit: int(2).optional(),
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

/** standardizer.json: x' = (x - mean) / std per feature (float32 values). */
export const standardizerSchema = z
  .strictObject({
    format: z.literal('imix-standardizer/1'),
    features: int(1),
    mean: z.array(z.number()),
    std: z.array(z.number().positive()),
  })
  .superRefine((s, ctx) => {
    for (const key of ['mean', 'std'] as const)
      if (s[key].length !== s.features) ctx.addIssue({ code: 'custom', path: [key], input: `${s[key].length} values`, message: `${s.features} values ('features')` });
  });
export type SavedStandardizer = z.infer<typeof standardizerSchema>;

/** csv-schema.json: the library's CSV schema (data.loadCsv), which encodes every later CSV read of the run. */
export const csvSchemaSchema = z.strictObject({
  format: z.literal('imix-csv-schema'),
  version: z.literal(1),
  delimiter: z.string(),
  header: z.boolean(),
  columns: z.array(z.string()),
  label: int(0).nullable(),
  labelClasses: z.array(z.string()).nullable(),
  numClasses: int(0).nullable(),
  categorical: z.array(z.strictObject({ column: int(0), categories: z.array(z.string()) })),
  ignored: z.array(int(0)),
  features: z.array(z.string()),
  means: z.array(z.number()),
  missing: z.enum(['error', 'mean', 'zero']),
  naValues: z.array(z.string()),
});
/** Each of two types is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** The compiler keeps this schema the library's CsvSchema. */
const _sameType: Same<z.infer<typeof csvSchemaSchema>, data.CsvSchema> = true;
void _sameType;

const width = int(1);

/**
 * The method settings of a checkpoint's configuration (the model's
 * config()): the keys every method records, extended by the method's own
 * (its registry entry's `options`). The optimizer options pass through to
 * the method's constructor, which checks them.
 */
export const configSettingsSchema = z.strictObject({
  method: z.string(),
  encoder: z.discriminatedUnion(
    'kind',
    [
      z.strictObject({ kind: z.literal('mlp'), hidden: z.array(width), batchNorm: z.boolean().optional() }),
      z.strictObject({ kind: z.literal('tabular'), scale: z.number().positive().optional() }),
      z.strictObject({ kind: z.enum(RESNET_KINDS), width: z.number().positive().max(MAX_RESNET_WIDTH).optional() }),
      z.strictObject({ kind: z.literal('module'), describe: z.string() }),
    ],
    { error: `an encoder ({kind: 'mlp', hidden}, {kind: 'tabular'} or {kind: ${RESNET_KINDS.map((k) => `'${k}'`).join(' | ')}})` },
  ),
  projection: z.tuple([width, width], { error: 'two widths [hidden, out]' }),
  mix: z.strictObject({ kind: z.enum(MIXES), alpha: z.number().positive().optional(), perBatchLambda: z.boolean().optional() }),
  temperature: z.number().positive().optional(),
  seed: int(0),
  optimizer: z.record(z.string(), z.unknown(), { error: 'an object' }),
  views: z.tuple([z.string(), z.string()], { error: 'two view descriptions' }),
  sampleShape: sampleShapeSchema,
});
export type ConfigSettings = z.infer<typeof configSettingsSchema>;

/** The configuration schema of one method: the keys every method records and `own`, the method's (its registry entry's `options`). */
export function configSchemaOf(own: { shape: z.ZodRawShape }): z.ZodType<ConfigSettings & Record<string, unknown>> {
  return configSettingsSchema.extend(own.shape) as z.ZodType as z.ZodType<ConfigSettings & Record<string, unknown>>;
}

/** What a field should be, for the checks a schema leaves unphrased (a registry entry's plain `z.number()`). */
function expectation(i: z.core.$ZodRawIssue): string | undefined {
  if (i.code === 'invalid_type') return i.expected === 'int' ? 'an integer' : `${/^[aeiou]/.test(i.expected) ? 'an' : 'a'} ${i.expected}`;
  if (i.code === 'invalid_value') return list(i.values.map((v) => String(v)));
  if ((i.code === 'too_small' || i.code === 'too_big') && i.origin === 'number') {
    const bound = i.code === 'too_small' ? i.minimum : i.maximum;
    return `a number ${i.code === 'too_small' ? '>' : '<'}${i.inclusive ? '=' : ''} ${String(bound)}`;
  }
  return undefined;
}

/**
 * `raw` parsed with `schema`. A failure is a CliError of one line naming
 * `file` and the field: `<file>: <lead>'<field>' should be <what>, got
 * <value>`, or `<file>: <lead>unknown key '<field>'`.
 */
export function parseFile<T>(schema: z.ZodType<T>, raw: unknown, file: string, lead = 'damaged: '): T {
  const r = schema.safeParse(raw, { reportInput: true, error: expectation });
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  if (i.code === 'unrecognized_keys') throw new CliError(`${file}: ${lead}unknown key '${z.core.toDotPath([...i.path, i.keys[0]!])}'`);
  throw new CliError(`${file}: ${lead}'${z.core.toDotPath(i.path)}' should be ${i.message}, got ${clip(JSON.stringify(i.input), 80)}`);
}
