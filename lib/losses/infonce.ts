/**
 * The InfoNCE (contrastive cross-entropy) loss of N-pair/SimCLR and MoCo,
 * forward and backward in one call, with i-Mix's virtual labels.
 *
 * Query i's class is key i; the other keys of the batch and the extra
 * negatives (MoCo's queue, a {@link MemoryBank}'s keys) are the other
 * classes. With an i-Mix draw (π, λ) the target of row i is the soft label
 * λ_i·e_i + (1−λ_i)·e_π(i), and the loss
 *
 *     L = (1/N)·Σ_i [ logsumexp_j(s_ij) − λ_i·s_{i,i} − (1−λ_i)·s_{i,π(i)} ],   s = logits
 *
 * Three layouts of the logits:
 *  - batch (default):      s = q·[k; negatives]ᵀ/τ             N×(N+K)
 *  - pair (MoCo baseline): s = [q_i·k_i, q·negativesᵀ]/τ       N×(1+K), class column 0
 *  - self (NT-Xent):       s = z·zᵀ/τ, diagonal masked, the class of row i its other view
 *
 * The batch and pair layouts keep their W columns in rows padded to
 * ld = ⌈W/4⌉·4 floats (a workspace [N, ld], used through its [N, W] view):
 * every row then starts on a 16-byte boundary, so the fused cross-entropy's
 * 128-bit loads and stores on the GPU cover each row but its last W mod 4
 * floats (MoCo's W = N + K or 1 + K is rarely a multiple of 4). The padding
 * is never written or read as logits; the results are those of unpadded rows.
 * @module
 */
import { ArgumentError, ShapeError, ValueError } from '../errors';
import { Workspace } from '../nn/module';
import * as ops from '../ops/index';
import { Tensor, type Device } from '../tensor';

/** A logit low enough that exp() underflows to exactly 0 (masks self-similarity). */
const MASKED = -1e9;

/** Floats a logits row is padded to a multiple of: 4 floats, 16 bytes, one float4. */
const ROW_ALIGN = 4;

/** An i-Mix draw as the losses take it: the permutation π and the per-row λ (device tensors). */
export interface MixTargets {
  perm: Tensor<'int32'>;
  lam: Tensor<'float32'>;
}

/** The inputs and gradient outputs of {@link InfoNCE.forwardBackward}. */
export interface InfoNCEInputs {
  /** Queries [N, D], L2-normalized rows. */
  q: Tensor<'float32'>;
  /** Keys [N, D], L2-normalized rows; row i is the positive of query i. */
  k: Tensor<'float32'>;
  /** Extra negatives [K, D] (e.g. a MemoryBank's keys); they receive no gradient. */
  negatives?: Tensor<'float32'>;
  /**
   * true (default): the other rows' keys are negatives too, logits
   * q·[k; negatives]ᵀ/τ (N×(N+K)); i-Mix needs this layout. false: MoCo's
   * baseline layout [q_i·k_i, q·negativesᵀ]/τ (N×(1+K)), which needs
   * `negatives` and takes no `mix`.
   */
  batchNegatives?: boolean;
  /** The i-Mix draw the queries were mixed with; absent or null: hard labels. */
  mix?: MixTargets | null;
  /** Receives dL/dq [N, D] (overwritten). */
  dq: Tensor<'float32'>;
  /** Receives dL/dk [N, D] (overwritten); absent: not computed (a key network without gradient). */
  dk?: Tensor<'float32'>;
}

/**
 * InfoNCE over normalized embeddings, forward and backward in one call.
 * It owns its workspace (the logits, which the fused cross-entropy turns
 * into dL/dlogits in place, and the class indices), allocated for the
 * first batch of a shape and reused.
 *
 * ```ts
 * import { losses, nn, Tensor } from 'imix';
 * const N = 4, D = 8;
 * const norm = new losses.L2Normalize(() => 'cpu');
 * const z = norm.forward(Tensor.from(Array.from({ length: 2 * N * D }, Math.random), [2 * N, D])); // [q; k]
 * const dz = norm.gradOutput();
 * const nce = new losses.InfoNCE({ temperature: 0.2, device: () => 'cpu' });
 * const [q, k, dq, dk] = [z.rows(0, N), z.rows(N, 2 * N), dz.rows(0, N), dz.rows(N, 2 * N)];
 * // N-pair: the other rows' keys are the negatives; dL/dq and dL/dk land in dz.
 * const npair = nce.forwardBackward({ q, k, dq, dk });
 * // MoCo: a memory bank's keys as more negatives, no gradient into the key network.
 * const bank = new nn.MemoryBank(64, D, { init: { seed: 0, offset: 0 } });
 * const moco = nce.forwardBackward({ q, k, negatives: bank.keys, dq });
 * bank.enqueue(k);
 * // SimCLR's NT-Xent over all 2N rows.
 * const simclr = nce.ntXent(z, dz);
 * console.log(npair, moco, simclr);
 * ```
 */
export class InfoNCE {
  readonly temperature: number;
  private readonly ws: Workspace;
  private readonly device: () => Device;
  /** NT-Xent's class of each row (its other view), for the last row count. */
  private partners: Tensor<'int32'> | null = null;

  constructor(options: { temperature: number; device: () => Device }) {
    const t = options.temperature;
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) throw new ValueError(`temperature: expected a positive number, got ${String(t)}`);
    this.temperature = t;
    this.device = options.device;
    this.ws = new Workspace(options.device);
  }

  /**
   * The mean loss over the N queries; writes dL/dq (and dL/dk when `dk` is
   * given). See {@link InfoNCEInputs} for the layouts.
   */
  forwardBackward(inputs: InfoNCEInputs): number {
    const { q, k, negatives, mix, dq, dk } = inputs;
    const [n, D] = matrix(q, 'q');
    same(k, [n, D], 'k');
    same(dq, [n, D], 'dq');
    if (dk) same(dk, [n, D], 'dk');
    if (negatives && matrix(negatives, 'negatives')[1] !== D)
      throw new ShapeError(`negatives: expected rows of ${D} values (as q), got [${negatives.shape.join(', ')}]`);
    if (inputs.batchNegatives ?? true) return this.batchLayout(q, k, negatives, mix ?? null, dq, dk);
    if (!negatives) throw new ArgumentError('negatives: the pair layout (batchNegatives false) contrasts each pair with negatives; none given');
    if (mix) throw new ArgumentError('mix: i-Mix needs the batch layout (batchNegatives true): the mixed label points at other rows of the batch');
    return this.pairLayout(q, k, negatives, dq, dk);
  }

  /**
   * NT-Xent (SimCLR): the 2N rows of `z` [2N, D] (rows i and i+N two views of
   * one sample) against each other, s = z·zᵀ/τ with the self-similarity
   * diagonal masked, the class of row i its other view. Returns the mean
   * loss over the 2N rows and writes dL/dz into `dz`.
   */
  ntXent(z: Tensor<'float32'>, dz: Tensor<'float32'>): number {
    const [n2, D] = matrix(z, 'z');
    same(dz, [n2, D], 'dz');
    if (n2 % 2 !== 0) throw new ShapeError(`z: expected two views of N rows each (an even row count), got ${n2} rows`);
    const inv = 1 / this.temperature;
    const logits = this.ws.get('logits', [n2, n2]);
    ops.gemm(z, z, logits, { transB: true, alpha: inv });
    logits.view(0, [n2], [n2 + 1]).fill(MASKED);
    const sum = ops.mixedCrossEntropy(logits, { targets: this.partnersOf(n2), scale: 1 / n2 });
    // s = Z·Zᵀ/τ is symmetric in Z: dZ = (G + Gᵀ)·Z/τ with G = dL/ds.
    ops.gemm(logits, z, dz, { alpha: inv });
    ops.gemm(logits, z, dz, { transA: true, alpha: inv, beta: 1 });
    return sum / n2;
  }

  /** N×(N+K): columns [0, N) the batch keys, [N, N+K) the negatives. */
  private batchLayout(
    q: Tensor<'float32'>,
    k: Tensor<'float32'>,
    negatives: Tensor<'float32'> | undefined,
    mix: MixTargets | null,
    dq: Tensor<'float32'>,
    dk: Tensor<'float32'> | undefined,
  ): number {
    const n = q.shape[0]!, K = negatives?.shape[0] ?? 0, W = n + K;
    const inv = 1 / this.temperature;
    const [logits, ld] = this.paddedLogits('logits', n, W);
    const lk = logits.view(0, [n, n], [ld, 1]);
    const ln = negatives ? logits.view(n, [n, K], [ld, 1]) : null;
    ops.gemm(q, k, lk, { transB: true, alpha: inv });
    if (negatives) ops.gemm(q, negatives, ln!, { transB: true, alpha: inv });
    // Fused soft-target cross-entropy; the logits now hold dL/dlogits (mean over rows).
    const sum = ops.mixedCrossEntropy(logits, { perm: mix?.perm, lam: mix?.lam, scale: 1 / n });
    ops.gemm(lk, k, dq, { alpha: inv }); // dq = G_k·k/τ (+ G_n·negatives/τ)
    if (negatives) ops.gemm(ln!, negatives, dq, { alpha: inv, beta: 1 });
    if (dk) ops.gemm(lk, q, dk, { transA: true, alpha: inv }); // dk = G_kᵀ·q/τ
    logits.dispose();
    lk.dispose();
    ln?.dispose();
    return sum / n;
  }

  /** N×(1+K): column 0 the positive q_i·k_i, columns 1.. the negatives; every row's class is column 0. */
  private pairLayout(
    q: Tensor<'float32'>,
    k: Tensor<'float32'>,
    negatives: Tensor<'float32'>,
    dq: Tensor<'float32'>,
    dk: Tensor<'float32'> | undefined,
  ): number {
    const n = q.shape[0]!, K = negatives.shape[0]!, W = 1 + K;
    const inv = 1 / this.temperature;
    const [logits, ld] = this.paddedLogits('pairLogits', n, W);
    const pos = logits.view(0, [n, 1], [ld, 1]), neg = logits.view(1, [n, K], [ld, 1]);
    ops.rowdot(q, k, pos, inv);
    ops.gemm(q, negatives, neg, { transB: true, alpha: inv });
    // Class 0 for every row (the workspace's tensors start zeroed and this one is never written).
    const sum = ops.mixedCrossEntropy(logits, { targets: this.ws.get('zeros', [n], 'int32'), scale: 1 / n });
    ops.gemm(neg, negatives, dq, { alpha: inv });
    ops.rowScaleAdd(dq, pos, k, inv);
    if (dk) {
      dk.fill(0);
      ops.rowScaleAdd(dk, pos, q, inv);
    }
    logits.dispose();
    pos.dispose();
    neg.dispose();
    return sum / n;
  }

  /**
   * The workspace's logits [n, W] as a view of rows padded to
   * ld = ⌈W/4⌉·4 floats (see the module's note), and ld; the caller
   * disposes the view. The workspace tensor [n, ld] starts zeroed and its
   * padding columns are never written (gemm writes the [n, W] view through
   * its leading dimension ld; the cross-entropy reads and writes W columns).
   */
  private paddedLogits(key: string, n: number, W: number): [Tensor<'float32'>, number] {
    const ld = Math.ceil(W / ROW_ALIGN) * ROW_ALIGN;
    return [this.ws.get(key, [n, ld]).view(0, [n, W], [ld, 1]), ld];
  }

  /** Row i's other view: (i + N) mod 2N, for 2N rows. */
  private partnersOf(n2: number): Tensor<'int32'> {
    if (this.partners?.numel !== n2) {
      this.partners?.dispose();
      this.partners = null; // a failed allocation below must not leave a disposed tensor here
      this.partners = Tensor.from(Int32Array.from({ length: n2 }, (_, i) => (i + n2 / 2) % n2), [n2], { device: this.device() });
    }
    return this.partners;
  }

  /** Frees the workspace (a later call allocates it again). */
  dispose(): void {
    this.ws.clear();
    this.partners?.dispose();
    this.partners = null;
  }
}

/** [rows, cols] of a 2-D tensor argument. */
function matrix(t: Tensor, arg: string): [number, number] {
  if (!(t instanceof Tensor)) throw new ArgumentError(`${arg}: expected a Tensor`);
  if (t.ndim !== 2) throw new ShapeError(`${arg}: expected a [rows, features] matrix, got [${t.shape.join(', ')}]`);
  return [t.shape[0]!, t.shape[1]!];
}

function same(t: Tensor, shape: [number, number], arg: string): void {
  const [r, c] = matrix(t, arg);
  if (r !== shape[0] || c !== shape[1]) throw new ShapeError(`${arg}: expected [${shape.join(', ')}], got [${r}, ${c}]`);
}
