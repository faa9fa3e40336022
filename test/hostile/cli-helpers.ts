// Running the `imix` command line as a real process, for the hostile-input tests.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'imix.js');

/** Small, fast training settings on the bundled data (256 rows, 4 steps an epoch). */
export const SMALL = ['--encoder', 'mlp:64', '--projection', '64,32', '--batch', '64', '--limit', '256', '--queue', '128'];

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Compiles lib/ to dist/ (the CLI runs from there) when dist is missing or older. */
export function ensureDist(): void {
  const main = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
  if (!fs.existsSync(main) || fs.statSync(main).mtimeMs < newestMtime(path.join(ROOT, 'lib')))
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', ROOT], { stdio: 'inherit' });
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `imix ...args` to completion. */
export function imix(args: string[], options: { env?: Record<string, string>; cwd?: string; timeout?: number } = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, IMIX_DEBUG: '', ...options.env },
    encoding: 'utf8',
    timeout: options.timeout ?? 120_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
