/**
 * Schemas of what the command line reads back from a run folder: the method
 * settings of a checkpoint's configuration (config.json's content; the
 * checkpoint metadata itself has its schema in lib/methods/checkpoint.ts).
 * Every object is strict (an unknown key is refused), and every check says
 * what the field should be, so a failure reads
 * `config.json: 'seed' should be an integer >= 0, got -1`.
 * @module
 */
import { z } from 'zod';
import { clip } from '../data/limits';
import { CliError } from './errors';
import { MIXES } from './options';

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ').replace(/, ([^,]*)$/, ' or $1');

/** An integer >= min: one message for each of its checks (`'seed' should be an integer >= 0, got "x"`). */
function int(min: number) {
  const error = `an integer >= ${min}`;
  return z.number({ error }).int({ error }).min(min, { error });
}

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
      z.strictObject({ kind: z.literal('module'), describe: z.string() }),
    ],
    { error: "an mlp or tabular encoder ({kind: 'mlp', hidden} or {kind: 'tabular'})" },
  ),
  projection: z.tuple([width, width], { error: 'two widths [hidden, out]' }),
  mix: z.strictObject({ kind: z.enum(MIXES), alpha: z.number().positive().optional(), perBatchLambda: z.boolean().optional() }),
  temperature: z.number().positive().optional(),
  seed: int(0),
  optimizer: z.record(z.string(), z.unknown(), { error: 'an object' }),
  views: z.tuple([z.string(), z.string()], { error: 'two view descriptions' }),
  sampleShape: z.array(int(1)),
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
