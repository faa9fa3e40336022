/**
 * What a training run reports as it goes, from the fit's onStep and onEpoch
 * events: the progress line, metrics.jsonl records, the epoch summary lines
 * and loss.svg. The run's files are written from the first step on (the
 * `start` callback), never before.
 * @module
 */
import type { EpochEvent, StepEvent } from '../index';
import type { MetricsLog, MetricsRecord } from './metrics';
import { type PlotData, renderPlot } from './plot';
import { type Progress, formatDuration, formatLoss } from './progress';

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
}

export class TrainingReporter {
  private metrics: MetricsLog | undefined;
  private readonly plot: Required<Omit<PlotData, 'title'>>;
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
      epochs: h.flatMap((r) => (r.type === 'epoch' ? [{ epoch: r.epoch, loss: r.loss, knn: r.knnAccuracy }] : [])),
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
    const epoch = e.epoch + 1;
    if (e.step % o.logEvery === 0 || e.step === o.endStep)
      this.metrics.write({ type: 'step', step: e.step, epoch, loss: e.loss, lr: e.lr, throughput: Math.round(e.throughput * 10) / 10 });
    this.plot.steps.push({ x: e.step / o.stepsPerEpoch, loss: e.loss });
    this.epochLosses.push(e.loss);
    o.progress.update({
      epoch,
      epochs: o.epochs,
      stepInEpoch: e.step - e.epoch * o.stepsPerEpoch,
      stepsPerEpoch: o.stepsPerEpoch,
      step: e.step,
      loss: e.loss,
      lr: e.lr,
      throughput: o.batch / this.secPerStep,
      etaSeconds: (o.endStep - e.step) * this.secPerStep,
    });
  };

  readonly onEpoch = (e: EpochEvent): void => {
    const o = this.o;
    const epoch = e.epoch + 1;
    // After a mid-epoch resume the library's epoch mean covers only the steps since the
    // resume; with every step of the epoch at hand, report the mean over all of them.
    const all = this.haveAllLosses && this.epochLosses.length === o.stepsPerEpoch;
    const loss = all ? this.epochLosses.reduce((a, b) => a + b, 0) / o.stepsPerEpoch : e.loss;
    this.epochLosses = [];
    this.haveAllLosses = true;
    const knn = e.knnAccuracy !== undefined ? { knnAccuracy: e.knnAccuracy } : {};
    this.metrics!.write({ type: 'epoch', epoch, step: e.step, loss, seconds: Math.round(e.seconds * 1000) / 1000, ...knn });
    this.plot.epochs.push({ epoch, loss, knn: e.knnAccuracy });
    this.writePlot();
    o.say(`epoch ${epoch}/${o.epochs}  loss ${formatLoss(loss)}${e.knnAccuracy !== undefined ? `  kNN ${e.knnAccuracy.toFixed(4)}` : ''}  ${formatDuration(e.seconds)}`);
    this.last = performance.now(); // the kNN monitor and checkpoint are not step time
  };

  writePlot(): void {
    this.o.writePlot(renderPlot({ title: this.o.title, ...this.plot }));
  }

  /** The fit is over (however it ended): closes the metrics log and the progress line. */
  close(): void {
    this.metrics?.close();
    this.o.progress.end();
  }
}
