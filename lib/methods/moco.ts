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
import { ArgumentError, ShapeError, ValueError } from '../errors';
import type { Sequential } from '../nn/layers';
import { ParameterStore, Workspace } from '../nn/module';
import * as ops from '../ops/index';
import { Tensor } from '../tensor';
import { ContrastiveMethod, type PlannedSize, Purpose, streamOffset, type Batch, type MethodOptions } from './base';
import { MAX_QUEUE_SIZE, MAX_QUEUE_VALUES } from '../util/options';

export interface MoCoOptions extends MethodOptions {
  /** Queue length K (any size ≥ the batch size; it need not be a multiple). Default 4096. */
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
  queue!: Tensor<'float32'>;
  queuePtr = 0;
  private readonly ws = new Workspace(() => this.device);

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
  }

  protected buildNetworks(inFeatures: number): void {
    this.qnet = this.encoderWithHead(inFeatures);
    this.knet = this.qnet.clone();
    this.online = new ParameterStore(this.qnet, { seed: this.seed, device: this.device });
    this.key = new ParameterStore(this.knet, { seed: this.seed, device: this.device });
    this.syncCopies(); // θ_k = θ_q at the start
    const D = this.projection[1];
    // Queue: random unit vectors, as MoCo initializes it.
    this.queue = Tensor.zeros([this.queueSize, D], { device: this.device });
    ops.randNormal(this.queue, { seed: this.seed, offset: streamOffset(0, Purpose.Queue) });
    const norms = Tensor.zeros([this.queueSize], { device: this.device });
    ops.l2Normalize(this.queue, this.queue, norms);
    norms.dispose();
  }

  protected override syncCopies(): void {
    this.key.params.copyFrom(this.online.params);
    this.key.buffers.copyFrom(this.online.buffers);
  }

  protected override checkBatch(batchSize: number): void {
    if (batchSize > this.queueSize)
      throw new ValueError(`queueSize: the queue (${this.queueSize} keys) must hold at least one batch (${batchSize} rows)`);
  }

  protected override beforeStep(): void {
    ops.ema(this.key.params, this.online.params, this.momentum);
    this.key.buffers.copyFrom(this.online.buffers);
  }

  private keysNormalized(xk: Tensor<'float32'>): Tensor<'float32'> {
    const kz = this.knet.forward(xk);
    const k = this.ws.get('k', kz.shape);
    ops.l2Normalize(kz, k, this.ws.get('knorms', [kz.shape[0]!]));
    return k;
  }

  protected trainStep({ n, xq, xk, mix }: Batch): number {
    const K = this.queueSize;
    const inv = 1 / this.temperature;
    const k = this.keysNormalized(xk); // no gradient flows into the key network
    const z = this.qnet.forward(xq);
    const D = z.shape[1]!;
    const q = this.ws.get('q', z.shape), qn = this.ws.get('qnorms', [n]);
    ops.l2Normalize(z, q, qn);
    const dq = this.ws.get('dq', [n, D]);
    let sum: number;
    if (mix) {
      // N×(N+K): columns [0, N) against the batch keys, [N, N+K) against the queue.
      const W = n + K;
      const logits = this.ws.get('logits_mix', [n, W]);
      const lk = logits.view(0, [n, n], [W, 1]), lq = logits.view(n, [n, K], [W, 1]);
      ops.gemm(q, k, lk, { transB: true, alpha: inv });
      ops.gemm(q, this.queue, lq, { transB: true, alpha: inv });
      sum = ops.mixedCrossEntropy(logits, { perm: mix.perm, lam: mix.lam, scale: 1 / n });
      ops.gemm(lk, k, dq, { alpha: inv });
      ops.gemm(lq, this.queue, dq, { alpha: inv, beta: 1 });
    } else {
      // N×(1+K): column 0 the positive q_i·k_i, columns 1.. the queue.
      const W = 1 + K;
      const logits = this.ws.get('logits', [n, W]);
      const pos = logits.view(0, [n, 1], [W, 1]), neg = logits.view(1, [n, K], [W, 1]);
      ops.rowdot(q, k, pos, inv);
      ops.gemm(q, this.queue, neg, { transB: true, alpha: inv });
      // Every row's target is column 0 (the workspace's tensors start zeroed and this one is never written).
      sum = ops.mixedCrossEntropy(logits, { targets: this.ws.get('zeros', [n], 'int32'), scale: 1 / n });
      ops.gemm(neg, this.queue, dq, { alpha: inv });
      ops.rowScaleAdd(dq, pos, k, inv);
    }
    const dz = this.ws.get('dz', [n, D]);
    ops.l2NormalizeBackward(dq, q, qn, dz);
    this.qnet.backward(dz, false);
    this.lastKeys = k;
    return sum / n;
  }
  private lastKeys: Tensor<'float32'> | null = null;

  protected override afterStep(): void {
    if (this.lastKeys) this.queuePtr = ops.queueEnqueue(this.queue, this.lastKeys, this.queuePtr);
  }

  protected override plannedStateSizes(sampleShape: number[], dir: string): PlannedSize[] {
    const D = this.projection[1];
    return [
      ...super.plannedStateSizes(sampleShape, dir),
      { name: 'queue', need: this.queueSize * D, error: (have) => new ArgumentError(`queueSize: the checkpoint in ${dir} was trained with ${Math.floor(have / D)}, this model has ${this.queueSize}`) },
    ];
  }

  protected override stateTensors(): Record<string, Tensor<'float32'>> {
    return { ...super.stateTensors(), 'key.params': this.key.params, 'key.buffers': this.key.buffers, queue: this.queue };
  }
  protected override stateScalars(): Record<string, number> {
    return { queuePtr: this.queuePtr };
  }
  protected override loadScalars(s: Record<string, number>): void {
    const p = s.queuePtr;
    if (!Number.isInteger(p) || p! < 0 || p! >= this.queueSize) throw new ShapeError(`queuePtr: ${p} does not fit a queue of ${this.queueSize}`);
    this.queuePtr = p!;
  }
  protected override extraConfig(): Record<string, unknown> {
    return { queueSize: this.queueSize, momentum: this.momentum };
  }

  protected override releaseNetworks(): void {
    this.queue?.dispose();
    this.key?.dispose();
    super.releaseNetworks();
  }

  override dispose(): void {
    this.ws.clear();
    super.dispose();
  }
}
