/**
 * What a training run reports as it goes, from the fit's onStep and onEpoch
 * events: the progress line, metrics.jsonl records, the epoch summary lines
 * and loss.svg. The run's files are written from the first step on (the
 * `start` callback), never before.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DivergenceError } from '../errors';
import type { EpochEvent, StepEvent } from '../index';
import { CHECKPOINT_FILE, readCheckpointMeta } from '../methods/checkpoint';
import type { MetricsLog, MetricsRecord } from './metrics';
import { type PlotData, renderPlot } from './plot';
import { type Progress, formatCollapse, formatDuration, formatLoss } from './progress';

export interface ReporterOptions {
  progress: Progress;
  /** Prints a line unless --quiet. */
  say: (line: string) => void;
  /** The run's configured epochs, batch size and step-record interval (run.json). */
  epochs: number;
  batch: number;
  logEvery: number;
  stepsPerEpoch: number;
  /** The step this invocation stops at (the run's end, or --max-steps). */
  endStep: number;
  /** The step and finished epochs training starts from (a resumed run's checkpoint; 0 for a new run). */
  from: { step: number; epoch: number };
  /** metrics.jsonl records up to the checkpoint of a resumed run (none for a new run). */
  history: MetricsRecord[];
  /** loss.svg's title. */
  title: string;
  /** Writes the run's files at the first step; returns the metrics log. */
  start: () => MetricsLog;
  /** Writes loss.svg. */
  writePlot: (svg: string) => void;
  /** The width d of the embeddings the collapse monitor measures (projection[1]): loss.svg plots it as std·√d. */
  embeddingDim?: number;
}

export class TrainingReporter {
  private metrics: MetricsLog | undefined;
  private readonly plot: Required<Pick<PlotData, 'steps' | 'epochs'>>;
  /** The collapse monitor's last value, shown on the progress line until the next. */
  private collapse: number | undefined;
  /** Losses of the epoch in progress, and whether they are all of its steps (not with gaps, --log-every > 1). */
  private epochLosses: number[];
  private haveAllLosses: boolean;
  /** Smoothed seconds per step, and when the last step (or the end of the last epoch's extras) was. */
  private secPerStep = NaN;
  private last = performance.now();

  constructor(private readonly o: ReporterOptions) {
    const h = o.history;
    this.plot = {
      steps: h.flatMap((r) => (r.type === 'step' ? [{ x: r.step / o.stepsPerEpoch, loss: r.loss }] : [])),
      epochs: h.flatMap((r) => (r.type === 'epoch' ? [{ epoch: r.epoch, loss: r.loss, knn: r.knnAccuracy, collapse: r.collapse }] : [])),
    };
    // A resumed run starts with the losses metrics.jsonl recorded of its epoch in progress.
    const epochStart = o.from.epoch * o.stepsPerEpoch;
    this.epochLosses = h.flatMap((r) => (r.type === 'step' && r.step > epochStart && r.step <= o.from.step ? [r.loss] : []));
    this.haveAllLosses = this.epochLosses.length === o.from.step - epochStart;
  }

  /** Whether the run's files have been written (the first step was taken). */
  get started(): boolean {
    return this.metrics !== undefined;
  }

  readonly onStep = (e: StepEvent): void => {
    const o = this.o;
    this.metrics ??= o.start();
    const now = performance.now();
    const dt = (now - this.last) / 1000;
    this.last = now;
    this.secPerStep = Number.isNaN(this.secPerStep) ? dt : 0.9 * this.secPerStep + 0.1 * dt;
    const epoch = e.epoch; // 1-based, as metrics.jsonl records it
    if (e.step % o.logEvery === 0 || e.step === o.endStep)
      this.metrics.write({ type: 'step', step: e.step, epoch, loss: e.loss, lr: e.lr, throughput: Math.round(e.throughput * 10) / 10, ...collapseField(e.collapse) });
    if (e.collapse !== undefined) this.collapse = e.collapse;
    this.plot.steps.push({ x: e.step / o.stepsPerEpoch, loss: e.loss });
    this.epochLosses.push(e.loss);
    o.progress.update({
      epoch,
      epochs: o.epochs,
      stepInEpoch: e.step - (e.epoch - 1) * o.stepsPerEpoch,
      stepsPerEpoch: o.stepsPerEpoch,
      step: e.step,
      loss: e.loss,
      lr: e.lr,
      throughput: o.batch / this.secPerStep,
      etaSeconds: (o.endStep - e.step) * this.secPerStep,
      collapse: this.collapse,
    });
  };

  readonly onEpoch = (e: EpochEvent): void => {
    const o = this.o;
    const epoch = e.epoch; // the epoch just finished, 1-based
    // After a mid-epoch resume the library's epoch mean covers only the steps since the
    // resume; with every step of the epoch at hand, report the mean over all of them.
    const all = this.haveAllLosses && this.epochLosses.length === o.stepsPerEpoch;
    const loss = all ? this.epochLosses.reduce((a, b) => a + b, 0) / o.stepsPerEpoch : e.loss;
    this.epochLosses = [];
    this.haveAllLosses = true;
    const knn = e.knnAccuracy !== undefined ? { knnAccuracy: e.knnAccuracy } : {};
    this.metrics!.write({ type: 'epoch', epoch, step: e.step, loss, seconds: Math.round(e.seconds * 1000) / 1000, ...knn, ...collapseField(e.collapse) });
    this.plot.epochs.push({ epoch, loss, knn: e.knnAccuracy, collapse: e.collapse });
    this.writePlot();
    const collapse = e.collapse !== undefined ? `  collapse ${formatCollapse(e.collapse)}${o.embeddingDim ? ` (spread 1/√${o.embeddingDim} = ${formatCollapse(1 / Math.sqrt(o.embeddingDim))})` : ''}` : '';
    o.say(`epoch ${epoch}/${o.epochs}  loss ${formatLoss(loss)}${e.knnAccuracy !== undefined ? `  kNN ${e.knnAccuracy.toFixed(4)}` : ''}${collapse}  ${formatDuration(e.seconds)}`);
    this.last = performance.now(); // the kNN monitor and checkpoint are not step time
  };

  writePlot(): void {
    this.o.writePlot(renderPlot({ title: this.o.title, ...this.plot, ...(this.o.embeddingDim ? { collapseScale: Math.sqrt(this.o.embeddingDim) } : {}) }));
  }

  /** The fit is over (however it ended): closes the metrics log and the progress line. */
  close(): void {
    this.metrics?.close();
    this.o.progress.end();
  }
}

/** metrics.jsonl's `collapse` field (6 significant digits), when the monitor measured the step or epoch. */
function collapseField(v: number | undefined): { collapse?: number } {
  return v !== undefined && Number.isFinite(v) ? { collapse: Number(v.toPrecision(6)) } : {};
}

/**
 * A diverged training's error (DivergenceError), with what the run folder
 * `dir` kept said after it: the checkpoint of its last finished epoch (never
 * one of the diverged state), or that none was written. Anything else is
 * returned as it is.
 */
export function divergedRun(e: unknown, dir: string): unknown {
  if (!(e instanceof DivergenceError)) return e;
  let kept = `no checkpoint was written in ${dir} (no epoch finished before it)`;
  try {
    if (fs.existsSync(path.join(dir, CHECKPOINT_FILE))) {
      const ck = readCheckpointMeta(dir);
      kept = `${dir} keeps the last good checkpoint, of epoch ${ck.epoch} (step ${ck.step})`;
    }
  } catch {
    // An unreadable checkpoint: say nothing about it.
  }
  return new DivergenceError(`${e.message}; ${kept}`, e.step);
}
