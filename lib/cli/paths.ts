/**
 * Output paths given on the command line (`train --out DIR`, `embed --out
 * FILE`). They are checked before any work, so that a path that cannot be
 * written is one line naming the flag and the path, instead of Node's
 * EISDIR or ENOTDIR from deep inside a write (after minutes of training or
 * embedding).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError } from './errors';

/** stat() of `p`, or undefined when there is nothing there (ENOTDIR: a path under a regular file). */
function statOrNone(flag: string, p: string, shown: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CliError(`${flag} ${shown}: cannot use ${p} (${code ?? (e as Error).message})`);
  }
}

/**
 * The missing folders above `p` are created when it is written; that needs
 * the nearest existing path above it to be a folder (not a regular file).
 */
function checkParents(flag: string, p: string): void {
  for (let a = path.dirname(p); ; a = path.dirname(a)) {
    const st = statOrNone(flag, a, p);
    if (st) {
      if (!st.isDirectory()) throw new CliError(`${flag} ${p}: ${a} is not a directory`);
      return;
    }
    if (path.dirname(a) === a) return;
  }
}

/** `dir` can hold a run folder: a directory, or a path where one can be created. */
export function checkOutputDir(flag: string, dir: string): void {
  const st = statOrNone(flag, dir, dir);
  if (st && !st.isDirectory()) throw new CliError(`${flag} ${dir}: exists and is not a directory`);
  if (!st) checkParents(flag, dir);
}

/** `file` can be written (created or replaced) as a regular file. */
export function checkOutputFile(flag: string, file: string): void {
  const st = statOrNone(flag, file, file);
  if (st?.isDirectory()) throw new CliError(`${flag} ${file}: is a directory`);
  if (!st) checkParents(flag, file);
}

/** A file-system error while writing an output path, as one line naming the flag (other errors pass through). */
export function outputError(flag: string, p: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return e;
  return new CliError(`${flag} ${p}: cannot write (${code})`);
}
