/**
 * metrics.jsonl: one JSON object per line, appended as training runs.
 *   {"type":"step","step":12,"epoch":1,"loss":5.01,"lr":0.05,"throughput":2300,"collapse":0.0812,"time":"…"}
 *   {"type":"epoch","epoch":1,"step":39,"loss":5.2,"seconds":4.1,"knnAccuracy":0.71,"collapse":0.0809,"time":"…"}
 * `step` counts optimizer steps taken so far (1-based after the first);
 * `epoch` is 1-based (on a step line, the epoch the step belongs to; on an
 * epoch line, the epoch that just finished). `collapse` is the embedding
 * collapse monitor (evaluation.stdOfL2Normalized of the step's batch; on an
 * epoch line the mean over the epoch's measured steps).
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appendText, openAppend, writeFileAtomic } from '../io/atomic';

export interface StepRecord {
  type: 'step';
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  throughput: number;
  /** The collapse monitor on this step's batch (about 1/√d when spread, 0 when collapsed). */
  collapse?: number;
  time?: string;
}
export interface EpochRecord {
  type: 'epoch';
  epoch: number;
  step: number;
  loss: number;
  seconds: number;
  knnAccuracy?: number;
  /** Mean collapse monitor over the epoch's measured steps. */
  collapse?: number;
  time?: string;
}
export type MetricsRecord = StepRecord | EpochRecord;

/** Reads every well-formed record of a metrics file (none if it does not exist). */
export function readMetrics(file: string): MetricsRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: MetricsRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as MetricsRecord;
      if (r && (r.type === 'step' || r.type === 'epoch') && Number.isFinite(r.step)) out.push(r);
    } catch {
      // A line cut short by a hard kill: skip it.
    }
  }
  return out;
}

/**
 * The records of a run whose checkpoint is at `at`: records past it were
 * written by a process killed before it could save, and training goes on
 * from the checkpoint.
 */
export function recordsUpTo(records: MetricsRecord[], at: { step: number; epoch: number }): MetricsRecord[] {
  return records.filter((r) => (r.type === 'step' ? r.step <= at.step : r.epoch <= at.epoch));
}

/** An append-only metrics log. */
export class MetricsLog {
  private fd: number;

  /**
   * Opens `file` for appending. On resume, `keepUpTo` drops records past the
   * checkpoint (steps logged after the last checkpoint of a killed run), so
   * the log matches the state training continues from.
   */
  constructor(
    readonly file: string,
    keepUpTo?: { step: number; epoch: number },
  ) {
    if (keepUpTo) {
      const records = readMetrics(file);
      const kept = recordsUpTo(records, keepUpTo);
      if (kept.length !== records.length || fs.existsSync(file)) writeFileAtomic(file, kept.map((r) => JSON.stringify(r) + '\n').join(''));
    }
    this.fd = openAppend(file); // never through a planted symlink
  }

  write(r: MetricsRecord): void {
    appendText(this.fd, JSON.stringify({ ...r, time: new Date().toISOString() }) + '\n', path.basename(this.file)); // one write: a line is whole or cut short
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
