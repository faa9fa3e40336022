/**
 * `imix bench [names...]`: runs the compiled micro-benchmarks of a source
 * checkout (dist/bench/<name>.js, built from bench/<name>.ts by `tsc`), one
 * after another, streaming their output.
 * @module
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError, EXIT_OK } from '../errors';

/** Helper modules in bench/ that are not benchmarks themselves. */
const NOT_BENCHMARKS = new Set(['common', 'util', 'utils', 'helpers']);

/** The folder holding imix's package.json. */
export function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pj = path.join(dir, 'package.json');
    try {
      if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'imix') return dir;
    } catch {
      // keep looking
    }
    if (path.dirname(dir) === dir) throw new CliError('cannot find the imix package root');
  }
}

/** Names of the compiled benchmarks, sorted. */
export function listBenchmarks(root = packageRoot()): string[] {
  const dir = path.join(root, 'dist', 'bench');
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith('.js') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .filter((n) => !NOT_BENCHMARKS.has(n))
    .sort();
}

function runOne(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)));
  });
}

export async function bench(names: string[], o: { list?: boolean }): Promise<number> {
  const root = packageRoot();
  const all = listBenchmarks(root);
  if (all.length === 0) {
    const src = path.join(root, 'bench');
    const hasSources = fs.existsSync(src) && fs.readdirSync(src).some((f) => f.endsWith('.ts'));
    throw new CliError(
      hasSources
        ? `no compiled benchmarks in ${path.join(root, 'dist', 'bench')}; build them first with \`npx tsc -p .\` in ${root}`
        : `no benchmarks found: they live in bench/ of a source checkout of imix (git clone), not in the npm package`,
    );
  }
  if (o.list) {
    process.stdout.write(all.join('\n') + '\n');
    return EXIT_OK;
  }
  for (const n of names) if (!all.includes(n)) throw new CliError(`bench: no benchmark '${n}' (available: ${all.join(', ')})`);
  const chosen = names.length ? names : all;
  const failed: string[] = [];
  for (const n of chosen) {
    process.stderr.write(`imix: bench ${n} (node dist/bench/${n}.js)\n`);
    const code = await runOne(path.join(root, 'dist', 'bench', `${n}.js`));
    if (code === 130) return 130;
    if (code !== 0) failed.push(`${n} (exit code ${code})`);
  }
  if (failed.length) throw new CliError(`benchmark${failed.length > 1 ? 's' : ''} failed: ${failed.join(', ')}`);
  return EXIT_OK;
}
