/**
 * Training progress on stderr. On a TTY: one line redrawn in place (at most
 * ~10 times a second) with a bar. Otherwise: plain lines, the first step at
 * once and then every `interval` seconds, so logs stay short. Epoch
 * summaries and messages always get their own line.
 * @module
 */

export interface ProgressState {
  epoch: number; // 1-based epoch in progress
  epochs: number;
  stepInEpoch: number; // 1-based
  stepsPerEpoch: number;
  step: number; // global steps done
  loss: number;
  lr: number;
  throughput: number; // samples/s
  etaSeconds: number;
  /** The collapse monitor's last value (evaluation.stdOfL2Normalized), when one was measured. */
  collapse?: number;
}

/** `1h02m`, `3m12s`, `45s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 9.95) return `${s.toFixed(1)}s`;
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

export function formatLoss(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : String(v);
}

/** The collapse monitor with 4 significant digits (0.0812); a bare 0 for a collapsed batch. */
export function formatCollapse(v: number): string {
  return v === 0 ? '0' : Number.isFinite(v) ? v.toPrecision(4) : String(v);
}

export function formatLr(v: number): string {
  return v === 0 ? '0' : v >= 1e-3 ? v.toFixed(4) : v.toExponential(2);
}

export class Progress {
  private readonly tty: boolean;
  private lastDraw = 0;
  private drawn = false;
  private printedSteps = 0;

  constructor(
    private readonly out: NodeJS.WriteStream | NodeJS.WritableStream = process.stderr,
    private readonly options: { quiet?: boolean; interval?: number; tty?: boolean } = {},
  ) {
    this.tty = options.tty ?? Boolean((out as NodeJS.WriteStream).isTTY);
  }

  private columns(): number {
    return (this.out as NodeJS.WriteStream).columns || 100;
  }

  line(p: ProgressState): string {
    const parts = [
      `epoch ${p.epoch}/${p.epochs}`,
      `step ${p.stepInEpoch}/${p.stepsPerEpoch}`,
      `loss ${formatLoss(p.loss)}`,
      `lr ${formatLr(p.lr)}`,
      `${Math.round(p.throughput)} samples/s`,
      `ETA ${formatDuration(p.etaSeconds)}`,
    ];
    if (p.collapse !== undefined) parts.push(`collapse ${formatCollapse(p.collapse)}`);
    return parts.join('  ');
  }

  /** Reports a step; draws only as often as the mode allows. */
  update(p: ProgressState): void {
    if (this.options.quiet) return;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && p.stepInEpoch !== p.stepsPerEpoch) return;
      this.lastDraw = now;
      const text = this.line(p);
      const width = 24;
      const frac = p.stepsPerEpoch ? p.stepInEpoch / p.stepsPerEpoch : 0;
      const full = Math.round(frac * width);
      let s = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${text}`;
      const cols = this.columns();
      if (s.length > cols - 1) s = s.slice(0, cols - 1);
      this.out.write(`\r\x1b[2K${s}`);
      this.drawn = true;
    } else {
      const interval = (this.options.interval ?? 10) * 1000;
      if (this.printedSteps > 0 && now - this.lastDraw < interval) return;
      this.lastDraw = now;
      this.printedSteps++;
      this.out.write(this.line(p) + '\n');
    }
  }

  /** Prints a line of its own (clearing the live line on a TTY). */
  log(text: string): void {
    if (this.tty && this.drawn) {
      this.out.write('\r\x1b[2K');
      this.drawn = false;
    }
    this.out.write(text + '\n');
  }

  /** Leaves the terminal on a fresh line. */
  end(): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}
