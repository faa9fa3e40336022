/**
 * Atomic file writes: a reader (or a crash) sees the old file or the new one,
 * never half of one. Data goes to a temporary file in the same directory,
 * is fsync'ed, then renamed over the target; the directory is fsync'ed so the
 * rename itself survives a power cut.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let counter = 0;

/** Writes `chunks` to `file` atomically. */
export function writeFileAtomic(file: string, chunks: Uint8Array | string | Array<Uint8Array | string>): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${counter++}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    for (const c of Array.isArray(chunks) ? chunks : [chunks]) {
      const buf = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
      let off = 0;
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}
