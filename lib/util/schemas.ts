/**
 * Schemas shared by the library's and the command line's persisted files
 * (zod; no native code, so the CLI can load them before the addon).
 * @module
 */
import { z } from 'zod';
import type { CsvSchema } from '../data/csv';
import { clip } from '../data/limits';
import { DataError } from '../errors';
import { MAX_RESNET_WIDTH, RESNET_KINDS } from './options';

/** Largest feature count per sample a checkpoint may declare (the kernels' 32-bit dimension limit). */
export const MAX_SAMPLE_FEATURES = 2 ** 31 - 1;

/** A sample shape a model can be built for: [F], [C, L] or [C, H, W], at most MAX_SAMPLE_FEATURES values. */
export const sampleShapeSchema = z
  .array(z.number().int().positive().max(MAX_SAMPLE_FEATURES))
  .min(1)
  .max(3)
  .refine((s) => s.reduce((a, b) => a * b, 1) <= MAX_SAMPLE_FEATURES, { message: `holds more than ${MAX_SAMPLE_FEATURES} features` });

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ').replace(/, ([^,]*)$/, ' or $1');

/** An integer >= min: one message for each of its checks (`'epochs' should be an integer >= 1, got "ten"`). */
export function intSchema(min: number) {
  const error = `an integer >= ${min}`;
  return z.number({ error }).int({ error }).min(min, { error });
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
 * `raw` parsed with `schema`. A failure is `error(message)` of one line
 * naming `file` and the field: `<file>: <lead>'<field>' should be <what>,
 * got <value>`, or `<file>: <lead>unknown key '<field>'`. The library throws
 * DataErrors (the default), the command line its own errors.
 */
export function parseChecked<T>(schema: z.ZodType<T>, raw: unknown, file: string, lead = 'damaged: ', error: (message: string) => Error = (m) => new DataError(m)): T {
  const r = schema.safeParse(raw, { reportInput: true, error: expectation });
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  if (i.code === 'unrecognized_keys') throw error(`${file}: ${lead}unknown key '${z.core.toDotPath([...i.path, i.keys[0]!])}'`);
  throw error(`${file}: ${lead}'${z.core.toDotPath(i.path)}' should be ${i.message}, got ${clip(JSON.stringify(i.input), 80)}`);
}

/** standardizer.json of a run folder: x' = (x - mean) / std per feature (float32 values). */
export const standardizerSchema = z
  .strictObject({
    format: z.literal('imix-standardizer/1'),
    features: intSchema(1),
    mean: z.array(z.number()),
    std: z.array(z.number().positive()),
  })
  .superRefine((s, ctx) => {
    for (const key of ['mean', 'std'] as const)
      if (s[key].length !== s.features) ctx.addIssue({ code: 'custom', path: [key], input: `${s[key].length} values`, message: `${s.features} values ('features')` });
  });
/** A run's saved standardizer (standardizer.json). */
export type SavedStandardizer = z.infer<typeof standardizerSchema>;

/** csv-schema.json of a run folder: the library's CSV schema (data.loadCsv), which encodes every later CSV read of the run. */
export const csvSchemaSchema = z.strictObject({
  format: z.literal('imix-csv-schema'),
  version: z.literal(1),
  delimiter: z.string(),
  header: z.boolean(),
  columns: z.array(z.string()),
  label: intSchema(0).nullable(),
  labelClasses: z.array(z.string()).nullable(),
  numClasses: intSchema(0).nullable(),
  categorical: z.array(z.strictObject({ column: intSchema(0), categories: z.array(z.string()) })),
  ignored: z.array(intSchema(0)),
  features: z.array(z.string()),
  means: z.array(z.number()),
  missing: z.enum(['error', 'mean', 'zero']),
  naValues: z.array(z.string()),
});
/** Each of two types is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** The compiler keeps this schema the library's CsvSchema. */
const _sameType: Same<z.infer<typeof csvSchemaSchema>, CsvSchema> = true;
void _sameType;

/** The mixings a method takes (MixOptions' kind). */
export const MIX_KINDS = ['none', 'mixup', 'cutmix'] as const;

const width = intSchema(1);

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
  mix: z.strictObject({ kind: z.enum(MIX_KINDS), alpha: z.number().positive().optional(), perBatchLambda: z.boolean().optional() }),
  temperature: z.number().positive().optional(),
  seed: intSchema(0),
  optimizer: z.record(z.string(), z.unknown(), { error: 'an object' }),
  views: z.tuple([z.string(), z.string()], { error: 'two view descriptions' }),
  sampleShape: sampleShapeSchema,
});
/** A checkpoint configuration's method settings, as {@link configSettingsSchema} reads them. */
export type ConfigSettings = z.infer<typeof configSettingsSchema>;

/** The configuration schema of one method: the keys every method records and `own`, the method's (its registry entry's `options`). */
export function configSchemaOf(own: { shape: z.ZodRawShape }): z.ZodType<ConfigSettings & Record<string, unknown>> {
  return configSettingsSchema.extend(own.shape) as z.ZodType as z.ZodType<ConfigSettings & Record<string, unknown>>;
}
