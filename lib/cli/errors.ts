/**
 * CLI errors and exit codes. Every failure ends as ONE line
 * `imix: error: <message>` on stderr; `IMIX_DEBUG=1` adds the stack.
 *
 * Exit codes: 0 success; 1 a runtime failure (a file that is missing or
 * malformed, a device that is not available, a run folder without a
 * checkpoint, a backend error); 2 a usage error (unknown command or option,
 * a malformed or out-of-range value, conflicting options); 130 training
 * interrupted by Ctrl-C (after saving a checkpoint).
 * @module
 */

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;
/** 128 + SIGTERM, as a shell reports a process ended by `kill`. */
export const EXIT_TERMINATED = 143;

/** A failure with a message meant for the user and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_RUNTIME,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage error (exit code 2): the command line itself is wrong. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = 'UsageError';
  }
}

/**
 * Library option names (as they appear at the start of the library's error
 * messages) and the command-line flag that sets them.
 */
const FLAG_OF: Array<[RegExp, string]> = [
  [/^mix\.alpha:/, '--alpha:'],
  [/^mix\.kind:/, '--mix:'],
  [/^mix:/, '--mix:'],
  [/^temperature:/, '--temperature:'],
  [/^optimizer\.lr:/, '--lr:'],
  [/^optimizer\.warmupEpochs:/, '--warmup:'],
  [/^optimizer\.weightDecay:/, '--weight-decay:'],
  [/^optimizer\.kind:/, '--optimizer:'],
  [/^queueSize:/, '--queue:'],
  [/^momentum:/, '--momentum:'],
  [/^batchSize:/, '--batch:'],
  [/^epochs:/, '--epochs:'],
  [/^seed:/, '--seed:'],
  [/^projection:/, '--projection:'],
  [/^encoder:/, '--encoder:'],
  [/^encoder\.\w+:/, '--encoder:'],
  [/^widths:/, '--encoder:'],
  [/^scale:/, '--encoder:'],
  [/^threads:/, '--threads:'],
  [/^precision:/, '--precision:'],
];

/**
 * Settings a library message quotes with their values, as `name=value`
 * (e.g. the ones that can make a diverged training's loss NaN), and the
 * flag that sets each: `optimizer.lr=0.05` reads `--lr 0.05`.
 */
const FLAG_OF_SETTING: Record<string, string> = {
  'optimizer.lr': '--lr',
  'optimizer.warmupEpochs': '--warmup',
  'optimizer.weightDecay': '--weight-decay',
  temperature: '--temperature',
  'mix.alpha': '--alpha',
  queueSize: '--queue',
  momentum: '--momentum',
  batchSize: '--batch',
};
const SETTING = new RegExp(`(^|[\\s(,])(${Object.keys(FLAG_OF_SETTING).map((k) => k.replace('.', '\\.')).join('|')})=`, 'g');

/**
 * Rewrites a library message to name the CLI flags instead of the library's
 * option names: the option it starts with, and the `name=value` settings it
 * quotes.
 */
export function flagMessage(message: string): string {
  message = message.replace(SETTING, (_, before: string, name: string) => `${before}${FLAG_OF_SETTING[name]} `);
  for (const [re, flag] of FLAG_OF) if (re.test(message)) return message.replace(re, flag);
  return message;
}

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string;
  exitCode?: number;
  stack?: string;
}

/**
 * The one-line message and exit code for anything thrown. Library errors
 * (lib/errors.ts) carry a message that names the offending argument; they
 * are runtime errors (1) unless raised while checking the command line.
 */
export function describeError(e: unknown): { message: string; exitCode: number } {
  if (e instanceof CliError) return { message: e.message, exitCode: e.exitCode };
  const err = (e && typeof e === 'object' ? e : { message: String(e) }) as ErrorLike;
  let message = String(err.message ?? err.name ?? 'unknown error');
  const code = typeof err.code === 'string' ? err.code : '';
  if (code.startsWith('commander.')) {
    // Commander's own messages start with "error: " and may add "(Did you mean ...)" on a second line.
    message = message.replace(/^error:\s*/, '');
    return { message: oneLine(message), exitCode: EXIT_USAGE };
  }
  if (code.startsWith('IMIX_')) {
    const kind: Record<string, string> = {
      IMIX_DEVICE: '',
      IMIX_DATA: '',
      IMIX_BACKEND: 'backend failure: ',
      IMIX_DISPOSED: 'internal error: ',
    };
    return { message: oneLine((kind[code] ?? '') + flagMessage(message)), exitCode: EXIT_RUNTIME };
  }
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_DLOPEN_FAILED') {
    // A missing or unloadable native addon (e.g. a wrong IMIX_BUILD_DIR): drop Node's require stack.
    const first = message.split('\n')[0]!.replace(/^imix:\s*/, '');
    return { message: /\.node\b/.test(first) ? `cannot load the native addon: ${first} (build it with \`npm run build:native\`)` : first, exitCode: EXIT_RUNTIME };
  }
  // Node file-system errors: "ENOENT: no such file or directory, open 'x'".
  if (/^E[A-Z]+$/.test(code)) return { message: oneLine(message), exitCode: EXIT_RUNTIME };
  message = message.replace(/^imix:\s*/, '');
  return { message: oneLine(message), exitCode: EXIT_RUNTIME };
}

function oneLine(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

/** Prints `imix: error: ...` (and the stack when IMIX_DEBUG is set) and returns the exit code. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  const { message, exitCode } = describeError(e);
  stderr.write(`imix: error: ${message}\n`);
  if (process.env.IMIX_DEBUG && process.env.IMIX_DEBUG !== '0' && e instanceof Error && e.stack) stderr.write(e.stack + '\n');
  return exitCode;
}
