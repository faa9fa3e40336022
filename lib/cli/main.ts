/**
 * The `imix` command line: train, eval, embed, bench, info.
 * Commands load the library (and its native addon) only when they run, so
 * `imix --help` works everywhere. See docs/cli.md.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { packageRoot } from './commands/bench';
import { EXIT_OK, EXIT_USAGE, UsageError, reportError } from './errors';
import { MAX_IMAGE_SIDE } from '../data/images';
import {
  ENCODER_SPELLINGS,
  METHOD_OPTION_FLAGS,
  MIXES,
  OPTIMIZERS,
  columnList,
  columnRef,
  integer,
  threadsArg,
  nonNegativeNumber,
  openFraction,
  parseDevice,
  parseEncoder,
  parseProjection,
  parseViews,
  VIEW_SPELLINGS,
  positiveNumber,
} from './options';
import { FLOAT32_MAX, MAX_MIX_ALPHA, MIN_MIX_ALPHA, MIN_TEMPERATURE, PRECISIONS } from '../util/options';
import { METHOD_REGISTRY, type MethodEntry } from '../methods/registry';

/** The kernels take scalars as float32: a larger value would be Infinity there. */
const FLOAT32 = { max: FLOAT32_MAX, why: '(the largest float32)' };

function version(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version as string;
  } catch {
    return 'unknown';
  }
}

/** Options shared by the commands that run a model. */
function deviceOptions(c: Command): Command {
  return c
    .addOption(new Option('--device <device>', "where to run: 'cpu', 'cuda' or 'cuda:N'").argParser(parseDevice).default('cpu'))
    .addOption(new Option('--threads <n>', "CPU threads for the kernels and the BLAS, or 'auto' (default: one per core, one thread while that measures faster)").argParser(threadsArg));
}

/** `--image-size H[xW]`: [H, W], each side an integer from 1 to MAX_IMAGE_SIDE (one number: a square). */
export function parseImageSize(s: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:[xX×]\s*(\d+)\s*)?$/.exec(s);
  const side = (t: string) => Number(t);
  const [h, w] = m ? [side(m[1]!), side(m[2] ?? m[1]!)] : [NaN, NaN];
  if (!(h >= 1 && w >= 1 && h <= MAX_IMAGE_SIDE && w <= MAX_IMAGE_SIDE))
    throw new UsageError(`--image-size: expected H or HxW, integers from 1 to ${MAX_IMAGE_SIDE} (e.g. 32 or 64x48), got '${s}'`);
  return [h, w];
}

/** `--channels 1|3`. */
export function parseChannels(s: string): 1 | 3 {
  const t = s.trim();
  if (t !== '1' && t !== '3') throw new UsageError(`--channels: expected 1 (grayscale) or 3 (RGB), got '${s}'`);
  return Number(t) as 1 | 3;
}

/**
 * The options that name the data (docs/cli.md#data); the `--data` and `--limit` help differ per command.
 * `forRun`: eval and embed, where they name other data than the run's (with --data only).
 */
function dataOptions(c: Command, data: Option, limit: string, limitMin: number, forRun = false): Command {
  const own = forRun ? " (with --data; the run's own split is read as it was for training)" : '';
  return c
    .addOption(data)
    .addOption(new Option('--labels <file>', 'labels (.npy or IDX) for a single NPY or IDX --data file'))
    .addOption(new Option('--label-column <col>', 'CSV/TSV --data: the label column (header name or 0-based index)').argParser(columnRef('--label-column')))
    .addOption(new Option('--categorical <cols>', 'CSV/TSV --data: comma-separated columns to one-hot encode').argParser(columnList('--categorical')))
    .addOption(new Option('--image-size <HxW>', "image-folder --data: resize every image to H x W (one number: a square), scaled to cover it and centre-cropped (default: the first image's size, which every image must then have)").argParser(parseImageSize))
    .addOption(new Option('--channels <n>', 'image-folder --data: 3 (RGB, default) or 1 (grayscale)').argParser(parseChannels))
    .addOption(new Option('--limit <n>', limit).argParser(integer('--limit', limitMin)))
    .addOption(new Option('--test <file>', `a test split for a single CSV/NPY/IDX --data file: a second file of the same columns (a CSV is encoded with the training file's schema) or samples${own}`))
    .addOption(new Option('--test-labels <file>', 'labels (.npy or IDX) for an NPY or IDX --test file'))
    .addOption(new Option('--holdout <fraction>', `hold out this fraction of the --data rows as the test split: seeded${own ? " (by the run's seed)" : ' by --seed'}, stratified by the labels when the data has them; --limit then cuts the training part${own}`).argParser(openFraction('--holdout')));
}

/** The names of the methods for which `has` holds, `npair, simclr`. */
function methodNames(has: (e: MethodEntry) => boolean = () => true): string {
  return METHOD_REGISTRY.filter(has)
    .map((e) => e.name)
    .join(', ');
}

/** `imix train`'s method options: the method (from the registry), its mixing, and the flags of the methods' own options. */
function methodOptions(c: Command): Command {
  c.addOption(new Option('--method <name>', `contrastive method: ${METHOD_REGISTRY.map((e) => `${e.name} (${e.summary})`).join(', ')}`).choices(METHOD_REGISTRY.map((e) => e.name)).default('moco'))
    .addOption(new Option('--mix <kind>', `i-Mix mixing of the query view (default: mixup; none for ${methodNames((e) => e.defaultMix === 'none')})`).choices(MIXES))
    .addOption(new Option('--alpha <a>', 'Beta(α, α) concentration for the mixing coefficient λ').argParser(positiveNumber('--alpha', { min: MIN_MIX_ALPHA, max: MAX_MIX_ALPHA, why: '(where the Beta(α, α) draws of λ are right)' })).default(1))
    .addOption(new Option('--epochs <n>', 'total epochs of the run').argParser(integer('--epochs', 1)).default(10))
    .addOption(new Option('--batch <n>', 'batch size (rows per step)').argParser(integer('--batch', 2)).default(256))
    .addOption(new Option('--lr <lr>', 'base learning rate (warmup, then cosine decay to 0) (default: 0.05 for sgd/lars, 0.001 for adamw)').argParser(positiveNumber('--lr', FLOAT32)))
    .addOption(new Option('--optimizer <kind>', 'optimizer').choices(OPTIMIZERS).default('sgd'))
    .addOption(new Option('--weight-decay <wd>', 'weight decay (default: 5e-4)').argParser(nonNegativeNumber('--weight-decay', FLOAT32)))
    .addOption(new Option('--warmup <epochs>', 'linear learning-rate warmup, in epochs (default: 0)').argParser(nonNegativeNumber('--warmup')))
    .addOption(new Option('--temperature <t>', `softmax temperature τ (${methodNames((e) => e.usesTemperature)}) (default: 0.2)`).argParser(positiveNumber('--temperature', { min: MIN_TEMPERATURE, why: '(logits are cosine similarities / temperature)' })));
  for (const [key, flag] of Object.entries(METHOD_OPTION_FLAGS)) {
    const help = METHOD_REGISTRY.flatMap((e) => (key in e.options.shape ? [`${e.name}: ${e.options.shape[key]!.description ?? key}`] : [])).join('; ');
    c.addOption(new Option(flag.flags, help).argParser(flag.parse));
  }
  return c;
}

/** `imix train`'s network and view options. */
function networkOptions(c: Command): Command {
  return c
    .addOption(new Option('--encoder <spec>', `encoder: ${ENCODER_SPELLINGS}`).argParser(parseEncoder).default(parseEncoder('mlp:512,512'), 'mlp:512,512'))
    .addOption(new Option('--projection <hidden,out>', 'projection head widths').argParser(parseProjection).default([512, 128], '512,128'))
    .addOption(new Option('--views <spec>', `views, applied in order, joined with '+': ${VIEW_SPELLINGS}; e.g. 'rrc:0.2+flip+jitter:0.4:0.8+gray:0.2' (docs/cli.md)`).argParser(parseViews).default(parseViews('drop:0.2'), 'drop:0.2'))
    .addOption(new Option('--seed <n>', 'random seed').argParser(integer('--seed', 0)).default(0));
}

/** `imix train`'s data, output and monitoring options. */
function runOptions(c: Command): Command {
  return dataOptions(
    c,
    new Option('--data <path>', "training data: 'fashion-mnist' (bundled), an IDX directory, an image folder (<class>/<image> subfolders, optionally in train/ and test/), or a CSV/TSV, NPY or IDX file").default(undefined, 'fashion-mnist'),
    'use only the first N training rows',
    2,
  )
    .addOption(
      new Option('--missing <policy>', "CSV/TSV --data: missing cells ('', NA, N/A, ?) are an 'error' (default), or filled with the feature's training 'mean' or 'zero' (saved in the run's csv-schema.json)").choices([
        'error',
        'mean',
        'zero',
      ]),
    )
    .addOption(
      new Option('--standardize <mode>', "standardize each feature with the training split's mean and std (saved in the run as standardizer.json): 'auto' (on for non-image data, off for [C, H, W] images), 'on' or 'off'")
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .addOption(new Option('--out <dir>', 'run folder').default('run', 'run/'))
    .addOption(new Option('--force', 'start over in an --out folder that already holds a run'))
    .addOption(new Option('--knn-every <n>', 'kNN monitor every N epochs, 0 to disable (default: 1 when a labelled test split exists)').argParser(integer('--knn-every', 0)))
    .addOption(new Option('--max-steps <n>', 'stop (with a checkpoint) after N steps of this invocation').argParser(integer('--max-steps', 1)))
    .addOption(new Option('--log-every <n>', 'write a metrics.jsonl step line every N steps').argParser(integer('--log-every', 1)).default(1))
    .addOption(new Option('--resume <run>', 'continue the run in this folder (settings come from its config.json)'))
    .addOption(new Option('-q, --quiet', 'no progress output'));
}

function trainCommand(program: Command, run: (code: number) => void): void {
  const train = program.command('train').description('train an encoder; writes a run folder (checkpoint, config, metrics, loss plot)');
  const precision = new Option('--precision <p>', "the Linear layers' gemms: 'fp32', or 'bf16' (bfloat16 products, float32 sums and weights; a CPU with AVX512_BF16, see `imix info`)")
    .choices(PRECISIONS)
    .default('fp32');
  deviceOptions(runOptions(networkOptions(methodOptions(train)))).addOption(precision).action(async (opts: Record<string, unknown>, cmd: Command) => {
    const given = new Set(Object.keys(opts).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
    const { train: trainRun } = require('./commands/train') as typeof import('./commands/train');
    run(await trainRun(opts as never, given));
  });
}

function evalCommand(program: Command, run: (code: number) => void): void {
  deviceOptions(
    dataOptions(
      program
        .command('eval')
        .description("accuracy of a run's frozen encoder: linear probe and/or kNN on the test split")
        .argument('<run>', 'run folder')
        .addOption(new Option('--probe <kind>', "the probe: 'linear' (softmax classifier, AdamW), 'pinv' (closed-form least squares on one-hot labels, as SCARF's tables) or 'knn' (as --knn); each also runs on the raw standardized input for comparison").choices(['linear', 'pinv', 'knn']))
        .addOption(new Option('--knn', 'kNN classification (cosine, temperature-weighted votes)'))
        .addOption(new Option('--k <n>', 'neighbours for --knn').argParser(integer('--k', 1)).default(200))
        .addOption(new Option('--probe-epochs <n>', 'linear probe training epochs').argParser(integer('--probe-epochs', 1)).default(30))
        .addOption(new Option('--label-fraction <f>', "few-label probe: train on this fraction of each class's training labels (e.g. 0.01; at least one row per class), a seeded stratified subset; reports mean ± std over --label-draws draws").argParser(positiveNumber('--label-fraction', { max: 1 })))
        .addOption(new Option('--label-draws <k>', 'subsets drawn for --label-fraction').argParser(integer('--label-draws', 1, 1000)).default(5))
        .addOption(new Option('--no-raw', 'skip the baseline: the same probes on the raw standardized input (pinv on wide raw input, e.g. images, costs rows x pixels^2)')),
      new Option('--data <path>', "data to evaluate on (default: the run's data, with its test split)"),
      'use only the first N training rows',
      2,
      true,
    ).addOption(new Option('--json', 'print one JSON object')),
  ).action(async (dir: string, opts: Record<string, unknown>) => {
    const { evaluate } = require('./commands/eval') as typeof import('./commands/eval');
    run(await evaluate(dir, opts as never));
  });
}

function embedCommand(program: Command, run: (code: number) => void): void {
  deviceOptions(
    dataOptions(
      program
        .command('embed')
        .description("write a run's encoder features for every row to .npy or .csv")
        .argument('<run>', 'run folder')
        // Checked in the action, not with requiredOption: commander checks required options
        // before arguments, so `imix embed` alone would ask for --out instead of the run.
        .addOption(new Option('--out <file>', 'output file (required): .npy (float32 [rows, features]) or .csv')),
      new Option('--data <path>', "data to embed (default: the run's data)"),
      'embed only the first N rows',
      1,
      true,
    )
      .addOption(new Option('--split <split>', 'for data with a test split (its own, --test or --holdout): which one').choices(['train', 'test']).default('train'))
      .addOption(new Option('-q, --quiet', 'no summary line')),
  ).action(async (dir: string, opts: Record<string, unknown>) => {
    if (opts.out === undefined) throw new UsageError("required option '--out <file>' not specified");
    const { embed } = require('./commands/embed') as typeof import('./commands/embed');
    run(await embed(dir, opts as never));
  });
}

/** Builds the program; `run` receives each command's exit code. */
export function buildProgram(run: (code: number) => void): Command {
  const program = new Command('imix');
  program
    .description(`Contrastive representation learning (${methodNames()}) with the i-Mix regularizer`)
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({ outputError: () => {} }) // errors are printed as one line by main()
    .showSuggestionAfterError(true)
    .addHelpText('after', '\nRun `imix <command> --help` for a command\'s options. Docs: docs/cli.md');
  trainCommand(program, run);
  evalCommand(program, run);
  embedCommand(program, run);
  program
    .command('bench')
    .description('run the micro-benchmarks of a source checkout (dist/bench/*.js)')
    .argument('[names...]', 'benchmarks to run (default: all)')
    .option('--list', 'list the available benchmarks')
    .action(async (names: string[], opts: { list?: boolean }) => {
      const { bench } = require('./commands/bench') as typeof import('./commands/bench');
      run(await bench(names, opts));
    });
  program
    .command('info')
    .description('backend, BLAS, threads, SIMD, build flags and CUDA devices of the loaded addon')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { showInfo } = require('./commands/info') as typeof import('./commands/info');
      run(showInfo(opts));
    });
  return program;
}

/** Runs the command line `argv` (process.argv form); resolves to the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  // `imix info | head`: a closed pipe ends the output quietly, not with a stack trace.
  for (const s of [process.stdout, process.stderr])
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
      throw e;
    });
  let code = EXIT_OK;
  const program = buildProgram((c) => (code = c));
  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return EXIT_USAGE;
    }
    await program.parseAsync(argv, { from: 'node' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.version')) return EXIT_OK;
    if (e instanceof CommanderError && e.code === 'commander.help') return EXIT_USAGE;
    return reportError(e);
  }
}

if (require.main === module) {
  void main().then((c) => {
    process.exitCode = c;
  });
}
