/**
 * MoCo v2 with i-Mix. The query network f_q+g_q is trained; the key network
 * is an EMA copy θ_k ← m·θ_k + (1−m)·θ_q over the whole flat parameter
 * buffer (one kernel), updated before the keys are computed. BatchNorm
 * running statistics are not averaged: they are copied from the query
 * network at each update (the key network normalizes with batch statistics
 * during training, so they only matter for evaluating it).
 *
 *   baseline: logits = [q·k_i , q·queueᵀ]/τ      N×(1+K), target column 0
 *   i-Mix:    logits = q·[k_batch ; queue]ᵀ/τ    N×(N+K), soft target over the first N
 *
 * The batch keys are enqueued into a FIFO ring of K rows after the loss.
 * @module
 */
import { ArgumentError, ValueError } from '../errors';
import { InfoNCE } from '../losses/infonce';
import { L2Normalize } from '../losses/normalize';
import type { Sequential } from '../nn/layers';
import { MemoryBank } from '../nn/memory-bank';
import type { ParameterStore } from '../nn/module';
import * as ops from '../ops/index';
import type { Tensor } from '../tensor';
import { ContrastiveMethod, type PlannedSize, Purpose, streamOffset, type Batch, type MethodOptions } from './base';
import { MAX_QUEUE_SIZE, MAX_QUEUE_VALUES, mocoQueueProblem } from '../util/options';

export interface MoCoOptions extends MethodOptions {
  /**
   * Queue length K (at least the batch size; it need not be a multiple). Default
   * 4096. `fit` refuses a queue as long as the data's rows minus a batch (K ≥
   * rows − batchSize): it would reach the batch's own keys of the previous epoch.
   */
  queueSize?: number;
  /** EMA momentum m of the key network; default 0.99. */
  momentum?: number;
}

/** MoCo's own option keys (the compiler keeps the list complete). */
const MOCO_OPTION_KEYS: { [K in Exclude<keyof MoCoOptions, keyof MethodOptions>]-?: true } = { queueSize: true, momentum: true };

export class MoCo extends ContrastiveMethod {
  readonly name = 'moco';
  readonly queueSize: number;
  readonly momentum: number;
  private qnet!: Sequential;
  private knet!: Sequential;
  private key!: ParameterStore;
  /** The FIFO ring of past keys [K, D] and its write pointer. */
  private bank!: MemoryBank;
  private readonly queryNorm = new L2Normalize(() => this.device);
  private readonly keyNorm = new L2Normalize(() => this.device);
  private readonly nce: InfoNCE;
  /** The last step's keys, enqueued after the optimizer step. */
  private lastKeys: Tensor<'float32'> | null = null;

  constructor(options: MoCoOptions) {
    super(options, Object.keys(MOCO_OPTION_KEYS));
    const K = options.queueSize ?? 4096;
    if (!Number.isInteger(K) || K < 1) throw new ValueError(`queueSize: expected a positive integer, got ${K}`);
    // The queue [K, D] is allocated with the model: an absurd K fails here, naming it (see MAX_QUEUE_SIZE).
    if (K > MAX_QUEUE_SIZE) throw new ValueError(`queueSize: expected at most ${MAX_QUEUE_SIZE} (2^24) keys, got ${K}`);
    if (K * this.projection[1] > MAX_QUEUE_VALUES)
      throw new ValueError(
        `queueSize: a queue of ${K} keys of ${this.projection[1]} values (projection[1]) would hold ${K * this.projection[1]} values, more than ${MAX_QUEUE_VALUES} (4 GiB); at most ${Math.floor(MAX_QUEUE_VALUES / this.projection[1])} keys of this width`,
      );
    this.queueSize = K;
    const m = options.momentum ?? 0.99;
    if (typeof m !== 'number' || !(m >= 0 && m <= 1)) throw new ValueError(`momentum: expected a number in [0, 1], got ${m}`);
    this.momentum = m;
    this.nce = new InfoNCE({ temperature: this.temperature, device: () => this.device });
  }

  /** The queue of past keys [K, D] (random unit rows until keys replace them). */
  get queue(): Tensor<'float32'> {
    return this.bank.keys;
  }
  /** The queue row the next batch of keys is written at. */
  get queuePtr(): number {
    return this.bank.ptr;
  }

  protected buildNetworks(sampleShape: readonly number[]): void {
    this.qnet = this.encoderWithHead(sampleShape);
    this.knet = this.qnet.clone();
    this.online = this.newStore(this.qnet);
    this.key = this.newStore(this.knet);
    this.syncCopies(); // θ_k = θ_q at the start
    // Queue: random unit vectors, as MoCo initializes it.
    this.bank = new MemoryBank(this.queueSize, this.projection[1], { device: this.device, init: { seed: this.seed, offset: streamOffset(0, Purpose.Queue) } });
  }

  protected override syncCopies(): void {
    this.key.params.copyFrom(this.online.params);
    this.key.buffers.copyFrom(this.online.buffers);
  }

  protected override checkBatch(batchSize: number, rows?: number): void {
    const problem = mocoQueueProblem(this.queueSize, batchSize, rows);
    if (problem) throw new ValueError(problem);
  }

  protected override beforeStep(): void {
    ops.ema(this.key.params, this.online.params, this.momentum);
    this.key.buffers.copyFrom(this.online.buffers);
  }

  protected trainStep({ xq, xk, mix }: Batch): number {
    const k = this.keyNorm.forward(this.knet.forward(xk)); // no gradient flows into the key network
    this.stepEmbeddings = k; // the clean key view's, for the collapse monitor (set before the loss: see ContrastiveMethod.stepEmbeddings)
    const q = this.queryNorm.forward(this.qnet.forward(xq));
    const dq = this.queryNorm.gradOutput();
    // i-Mix: N×(N+K) logits against [k_batch; queue]; baseline: N×(1+K), [q·k_i, q·queue].
    const loss = this.nce.forwardBackward({ q, k, negatives: this.bank.keys, batchNegatives: mix !== null, mix, dq });
    this.qnet.backward(this.queryNorm.backward(dq), false);
    this.lastKeys = k;
    return loss;
  }

  protected override afterStep(): void {
    if (this.lastKeys) this.bank.enqueue(this.lastKeys);
  }

  protected override plannedStateSizes(sampleShape: number[], dir: string): PlannedSize[] {
    const D = this.projection[1];
    return [
      ...super.plannedStateSizes(sampleShape, dir),
      { name: 'queue', need: this.queueSize * D, error: (have) => new ArgumentError(`queueSize: the checkpoint in ${dir} was trained with ${Math.floor(have / D)}, this model has ${this.queueSize}`) },
    ];
  }

  protected override stateTensors(): Record<string, Tensor<'float32'>> {
    return { ...super.stateTensors(), 'key.params': this.key.params, 'key.buffers': this.key.buffers, ...this.bank.stateTensors() };
  }
  protected override stateScalars(): Record<string, number> {
    return this.bank.stateScalars();
  }
  protected override loadScalars(s: Record<string, number>): void {
    this.bank.loadScalars(s);
  }
  protected override extraConfig(): Record<string, unknown> {
    return { queueSize: this.queueSize, momentum: this.momentum };
  }

  protected override releaseNetworks(): void {
    this.bank?.dispose();
    this.lastKeys = null;
    this.key?.dispose();
    super.releaseNetworks();
  }

  override dispose(): void {
    this.queryNorm.dispose();
    this.keyNorm.dispose();
    this.nce.dispose();
    super.dispose();
  }
}
