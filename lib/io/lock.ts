/**
 * One writer per run folder. A writer (`imix train`, `fit` with
 * `checkpointDir`, `save`) holds an exclusive flock(2) on the folder itself
 * while it writes; a second writer is refused at once (with the holder's
 * pid where the system says it) instead of interleaving its checkpoints and
 * logs with the first. The kernel drops the lock when the holder exits,
 * however it exits (kill -9 included), so there is no stale lock to clean up
 * and no lock file: the folder holds only the run's files.
 * Readers (`embed`, `eval`, `load`) take no lock: every file they read is
 * replaced atomically.
 *
 * Locks are counted per process: the CLI holds the folder for the whole run
 * and the fit inside it takes the same lock again without conflict.
 * @module
 */
import * as fs from 'node:fs';
import { ArgumentError } from '../errors';
import { native } from '../native';
import { makeDirs, removeStaleTemps } from './atomic';

const held = new Map<string, { fd: number; count: number }>();

/** " (pid N)" of the process holding a flock on inode `ino`, from /proc/locks where there is one; else ''. */
function holderOf(ino: number): string {
  try {
    for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/); // "1: FLOCK ADVISORY WRITE <pid> <maj>:<min>:<ino> 0 EOF"
      if (f[1] === 'FLOCK' && Number(f[5]?.split(':')[2]) === ino && f[4] !== String(process.pid)) return ` (pid ${f[4]})`;
    }
  } catch {
    // not Linux
  }
  return '';
}

/**
 * Takes the writer's lock on `dir` (creating the folder), removes the
 * temporaries a killed writer left there, and returns the release function.
 * `arg` names the option or flag in errors.
 */
export function lockRunDir(dir: string, arg: string): () => void {
  const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  try {
    makeDirs(dir);
  } catch (e) {
    throw new ArgumentError(`${arg}: cannot create ${dir} (${code(e)})`);
  }
  const key = fs.realpathSync(dir);
  const mine = held.get(key);
  if (mine) {
    mine.count++;
    return once(() => release(key));
  }
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (e) {
    throw new ArgumentError(`${arg}: cannot open ${dir} (${code(e)})`);
  }
  let locked = false;
  try {
    locked = native.tryLockFile(fd);
  } finally {
    if (!locked) fs.closeSync(fd);
  }
  if (!locked)
    throw new ArgumentError(`${arg}: ${dir} is in use by another imix process${holderOf(fs.statSync(dir).ino)}; wait for it to finish, or write to another folder`);
  held.set(key, { fd, count: 1 });
  removeStaleTemps(dir);
  return once(() => release(key));
}

function release(key: string): void {
  const h = held.get(key);
  if (!h || --h.count > 0) return;
  held.delete(key);
  fs.closeSync(h.fd); // drops the lock
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      f();
    }
  };
}
