/**
 * The mixed cosine loss of BYOL (and SimSiam) with i-Mix, forward and
 * backward in one call, and the pairing of its symmetric form.
 *
 * The online branch's normalized prediction p_i of the (mixed) query view
 * is pulled towards the target branch's normalized projection of the clean
 * key view, k_i, and, with i-Mix, towards k_π(i) in proportion 1 − λ_i:
 *
 *     L = (1/N)·Σ_i [ 2 − 2·(λ_i·p_i·k_i + (1−λ_i)·p_i·k_π(i)) ],   k constant (stop-gradient)
 *
 * The symmetric form adds the same loss with the views swapped: the mixed
 * key view x̃2 (mixed with the same draw) online, the clean query view x1 as
 * the target.
 * @module
 */
import { Workspace } from '../nn/module';
import * as ops from '../ops/index';
import type { Device, Tensor } from '../tensor';
import type { MixTargets } from './infonce';

/** The views of one step, as {@link MixedCosine.pairs} takes them (the training loop's Batch has them). */
export interface ViewPair {
  /** Rows per view, N. */
  n: number;
  /** The query view [N, F], mixed when i-Mix is on. */
  xq: Tensor<'float32'>;
  /** The key view [N, F], never mixed. */
  xk: Tensor<'float32'>;
  /** The query view [N, F] before mixing. */
  x1: Tensor<'float32'>;
  /** The i-Mix draw xq was mixed with; null without mixing. */
  mix: (MixTargets & { permHost: Int32Array; lamHost: Float32Array }) | null;
}

/** What the online and target networks see in one step, and the draw that pairs their rows. */
export interface CosinePairs {
  /** Input of the online branch: xq, or [xq; x̃2] in the symmetric form. */
  online: Tensor<'float32'>;
  /** Input of the target branch: xk, or [xk; x1] in the symmetric form. */
  target: Tensor<'float32'>;
  /** The draw over the online rows (the symmetric form's second half pairs row i+N with π(i)+N). */
  mix: MixTargets | null;
}

/**
 * BYOL's mixed cosine loss as a piece. It owns the workspace of the
 * symmetric form (the stacked inputs and the doubled draw).
 *
 * ```ts
 * import { losses, Tensor } from 'imix';
 * const N = 4, D = 8;
 * const random = (rows: number) => Tensor.from(Array.from({ length: rows * D }, Math.random), [rows, D]);
 * const cos = new losses.MixedCosine({ device: () => 'cpu' });
 * const pNorm = new losses.L2Normalize(() => 'cpu'), kNorm = new losses.L2Normalize(() => 'cpu');
 * const k = kNorm.forward(random(N)); // the target branch's projections (no gradient)
 * const p = pNorm.forward(random(N)); // the online branch's predictions
 * const dp = pNorm.gradOutput();
 * const mix = { perm: Tensor.from(Int32Array.from([1, 0, 3, 2]), [N]), lam: Tensor.from([0.7, 0.9, 0.6, 1], [N]) };
 * const loss = cos.forwardBackward({ p, k, mix, dp });
 * const dPrediction = pNorm.backward(dp); // on into the predictor
 * console.log(loss, dPrediction.shape);
 * ```
 */
export class MixedCosine {
  readonly symmetric: boolean;
  private readonly ws: Workspace;

  constructor(options: { symmetric?: boolean; device: () => Device }) {
    this.symmetric = options.symmetric ?? false;
    this.ws = new Workspace(options.device);
  }

  /**
   * The online and target inputs of a step. Asymmetric: the views as they
   * are. Symmetric: online [xq; x̃2] with x̃2 = MixUp(xk) under the same draw
   * (xk itself without mixing), target [xk; x1], and the draw doubled so
   * that row i+N pairs with π(i)+N. The tensors of the symmetric form
   * belong to this piece.
   */
  pairs({ n, xq, xk, x1, mix }: ViewPair): CosinePairs {
    if (!this.symmetric) return { online: xq, target: xk, mix };
    const sample = xq.shape.slice(1); // [F], or [C, H, W] for a convolutional encoder
    const online = this.ws.get('online', [2 * n, ...sample]), target = this.ws.get('target', [2 * n, ...sample]);
    online.rows(0, n).copyFrom(xq);
    if (mix) ops.mixup(xk, online.rows(n, 2 * n), mix.perm, mix.lam);
    else online.rows(n, 2 * n).copyFrom(xk);
    target.rows(0, n).copyFrom(xk);
    target.rows(n, 2 * n).copyFrom(x1);
    if (!mix) return { online, target, mix: null };
    const p2 = new Int32Array(2 * n), l2 = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      p2[i] = mix.permHost[i]!;
      p2[i + n] = mix.permHost[i]! + n;
      l2[i] = l2[i + n] = mix.lamHost[i]!;
    }
    return { online, target, mix: { perm: this.ws.get('perm', [2 * n], 'int32').set(p2), lam: this.ws.get('lam', [2 * n]).set(l2) } };
  }

  /**
   * The loss of normalized predictions `p` [R, D] against normalized targets
   * `k` [R, D] (constant), summed over the rows and divided by `n` (default
   * R; the symmetric form's 2N rows divided by N give the sum of its two
   * mean losses). Writes dL/dp into `dp`; returns the loss.
   */
  forwardBackward(args: { p: Tensor<'float32'>; k: Tensor<'float32'>; mix?: MixTargets | null; dp: Tensor<'float32'>; n?: number }): number {
    const n = args.n ?? args.p.shape[0]!;
    const sum = ops.mixedCosine(args.p, args.k, { perm: args.mix?.perm, lam: args.mix?.lam, scale: 1 / n, dp: args.dp });
    return sum / n;
  }

  /** Frees the workspace (a later call allocates it again). */
  dispose(): void {
    this.ws.clear();
  }
}
