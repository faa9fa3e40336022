/**
 * Safe file writes.
 *
 * - {@link writeFileAtomic}: a reader (or a crash) sees the old file or the
 *   new one, never half of one. Data goes to a temporary file in the same
 *   directory, is fsync'ed, then renamed over the target; the directory is
 *   fsync'ed so the rename itself survives a power cut. The temporary's name
 *   is random and it is created with O_EXCL | O_NOFOLLOW, so a file or
 *   symlink planted under a predictable name can neither be overwritten nor
 *   redirect the write; the rename replaces a symlink at the target itself,
 *   never the file it points to.
 * - {@link makeDirs}: `mkdir -p` one level at a time. Node's recursive mkdir
 *   loops forever where mkdir answers ENOENT for a parent that exists
 *   (/proc, some FUSE mounts); this one fails with the error instead.
 * - {@link removeStaleTemps}: temporaries left by a writer killed mid-write,
 *   removed by the next writer holding the folder's lock (lib/io/lock.ts).
 * - {@link fsStep}: counts the file-system steps of these writes; the crash
 *   tests set IMIX_TEST_KILL_AT_FS_STEP=n to SIGKILL the process right
 *   after the n-th one, to prove that a kill at any point leaves a folder
 *   that resumes (IMIX_TEST_TRACE_FS_STEPS=1 lists them on stderr).
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const killAt = Number(process.env.IMIX_TEST_KILL_AT_FS_STEP ?? 0);
const trace = process.env.IMIX_TEST_TRACE_FS_STEPS === '1';
let steps = 0;

/** Marks one file-system step done (`what`: a write, fsync, rename or removal, and the file). */
export function fsStep(what: string): void {
  steps++;
  if (trace) fs.writeSync(2, `fs-step ${steps} ${what}\n`);
  if (killAt > 0 && steps === killAt) process.kill(process.pid, 'SIGKILL');
}

/** Creates `dir` and the missing folders above it. Errors are Node's (with their code). */
export function makeDirs(dir: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let d = abs; ; d = path.dirname(d)) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${abs}' (${d} is a file)`), { code: 'ENOTDIR' });
      break;
    }
    if (path.dirname(d) === d) break;
    missing.push(d);
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      // Another process may have made it meanwhile; anything else (ENOENT from /proc, EACCES) is final.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** A temporary's name for `file`: hidden, random, recognizable by {@link removeStaleTemps}. */
function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
}
// Ours: .<name>.<16 hex>.tmp, and the pid-counter names of imix before 0.2.
const TEMP = /^\..+\.(?:[0-9a-f]{16}|\d+\.\d+)\.tmp$/;

/** Removes temporaries a killed writer left in `dir`; only a writer holding the folder's lock may call it. */
export function removeStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed = names.filter((n) => TEMP.test(n));
  for (const n of removed) fs.rmSync(path.join(dir, n), { force: true });
  return removed;
}

const CREATE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/** Writes every chunk to `fd` (`name`: the file, for fsStep). */
function writeAll(fd: number, chunks: Array<Uint8Array | string>, name: string): void {
  for (const c of chunks) {
    const buf = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fsStep(`write ${name}`);
  }
}

/** fsync of a directory, so a rename in it is durable (some filesystems refuse it; the rename is still atomic). */
function syncDir(dir: string): void {
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // see above
  }
}

/** Writes `chunks` to `file` atomically. */
export function writeFileAtomic(file: string, chunks: Uint8Array | string | Array<Uint8Array | string>): void {
  const dir = path.dirname(path.resolve(file));
  makeDirs(dir);
  const tmp = tempName(file);
  const name = path.basename(file);
  const fd = fs.openSync(tmp, CREATE_NEW, 0o644);
  try {
    fsStep(`create ${name} (temporary)`);
    writeAll(fd, Array.isArray(chunks) ? chunks : [chunks], name);
    fs.fsyncSync(fd);
    fsStep(`fsync ${name}`);
    fs.closeSync(fd);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  try {
    fs.renameSync(tmp, file);
    fsStep(`rename ${name}`);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(dir);
}

/** Opens `file` for appending, never through a symlink (ELOOP if it is one). */
export function openAppend(file: string): number {
  return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
}

/** Appends `text` to an open file as one write (`name`: the file, for fsStep). */
export function appendText(fd: number, text: string, name: string): void {
  fs.writeSync(fd, text);
  fsStep(`append ${name}`);
}
