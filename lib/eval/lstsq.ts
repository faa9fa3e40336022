/**
 * Minimum-norm least squares in double precision, x = pinv(A)·B, for the
 * closed-form probe ({@link pinvProbe}). Plain TypeScript: the matrices are
 * at most a few thousand columns wide, and a float32 BLAS would lose the
 * digits a pseudo-inverse needs.
 *
 * Method (LAPACK's xGELSY without its condition estimator):
 *  1. Householder QR with column pivoting, A·P = Q·R (xGEQP3's unblocked
 *     form, with its downdating of the column norms). The pivoting puts the
 *     largest remaining column first, so |R₀₀| ≥ |R₁₁| ≥ … and the numerical
 *     rank r is where the remaining columns' norms fall to `rcond·|R₀₀|`.
 *  2. c = (Qᵀ·B)[0..r).
 *  3. Full rank (r = cols): back substitution R·z = c.
 *     Rank deficient (r < cols, which includes rows < cols): the r×cols
 *     trapezoid T = [R₁₁ R₁₂] is factored once more, Tᵀ = Q₂·L (a complete
 *     orthogonal decomposition), and z = Q₂·[y; 0] with Lᵀ·y = c is the
 *     minimum-norm solution of T·z = c.
 *  4. x = P·z.
 * This is the same x as numpy.linalg.pinv(A) @ B (an SVD) whenever the two
 * agree on the rank, i.e. when no singular value sits near the cut-off; it
 * costs about 2·rows·cols² flops and rows·cols doubles.
 * @module
 */
import { ArgumentError, ShapeError, ValueError } from '../errors';

/** What {@link leastSquares} returns. */
export interface LeastSquaresResult {
  /** The solution, row-major [cols, rhs]: x = pinv(A)·B. */
  x: Float64Array;
  /** The numerical rank of A (see LeastSquaresOptions.rcond). */
  rank: number;
}

/** Options of {@link leastSquares}. */
export interface LeastSquaresOptions {
  /**
   * Relative cut-off of the numerical rank: a column whose remaining norm
   * (after the pivoted QR's earlier columns are projected out) is at most
   * `rcond·|R₀₀|` counts as dependent. Default `max(rows, cols)·2⁻⁵²`, the
   * default of numpy.linalg.lstsq and LAPACK's drivers.
   */
  rcond?: number;
}

const EPS = 2 ** -52;

/** The most entries (rows·cols) a solve takes: the matrix is copied to doubles, 8 bytes each (2^28: 2 GiB). */
export const MAX_LSTSQ_ENTRIES = 2 ** 28;

/**
 * Applies the Householder reflector H = I − τ·v·vᵀ (v₀ = 1, v₁.. stored in
 * `v` from `vOff + 1`, `len` entries in all) to the `len` entries of `y`
 * from `yOff`.
 */
function reflect(v: Float64Array, vOff: number, tau: number, len: number, y: Float64Array, yOff: number): void {
  if (tau === 0) return;
  // vᵀy with four partial sums: one running sum would wait on each add's latency.
  let w0 = y[yOff]!, w1 = 0, w2 = 0, w3 = 0, i = 1;
  for (; i + 3 < len; i += 4) {
    w0 += v[vOff + i]! * y[yOff + i]!;
    w1 += v[vOff + i + 1]! * y[yOff + i + 1]!;
    w2 += v[vOff + i + 2]! * y[yOff + i + 2]!;
    w3 += v[vOff + i + 3]! * y[yOff + i + 3]!;
  }
  for (; i < len; i++) w0 += v[vOff + i]! * y[yOff + i]!;
  const w = tau * (w0 + w1 + (w2 + w3));
  y[yOff]! -= w;
  for (let i = 1; i < len; i++) y[yOff + i]! -= w * v[vOff + i]!;
}

/** ‖x[off .. off+len)‖₂ without overflow or underflow (scaled sum of squares). */
function norm2(x: Float64Array, off: number, len: number): number {
  let scale = 0, ssq = 1;
  for (let i = 0; i < len; i++) {
    const a = Math.abs(x[off + i]!);
    if (a === 0) continue;
    if (scale < a) {
      ssq = 1 + ssq * (scale / a) * (scale / a);
      scale = a;
    } else ssq += (a / scale) * (a / scale);
  }
  return scale * Math.sqrt(ssq);
}

/**
 * Makes the Householder reflector that maps the `len` entries of column
 * storage `a` from `off` onto β·e₁ (LAPACK's xLARFG): stores β at `off` and
 * v₁.. after it; returns τ (0 when the entries below the first are 0).
 */
function householder(a: Float64Array, off: number, len: number): number {
  const alpha = a[off]!;
  const xnorm = len > 1 ? norm2(a, off + 1, len - 1) : 0;
  if (xnorm === 0) return 0;
  const beta = -Math.sign(alpha || 1) * Math.hypot(alpha, xnorm);
  const tau = (beta - alpha) / beta;
  const s = 1 / (alpha - beta);
  for (let i = 1; i < len; i++) a[off + i]! *= s;
  a[off] = beta;
  return tau;
}

/**
 * Householder QR with column pivoting of the column-major rows×cols matrix
 * `a`, in place (R on and above the diagonal, the reflectors below it),
 * stopping at the numerical rank. Returns the rank, the τ of each reflector
 * and the column order (`perm[j]` is the original index of column j).
 */
function pivotedQr(a: Float64Array, rows: number, cols: number, rcond: number): { rank: number; tau: Float64Array; perm: Int32Array } {
  const kmax = Math.min(rows, cols);
  const tau = new Float64Array(kmax);
  const perm = Int32Array.from({ length: cols }, (_, j) => j);
  const vn1 = new Float64Array(cols), vn2 = new Float64Array(cols);
  for (let j = 0; j < cols; j++) vn1[j] = vn2[j] = norm2(a, j * rows, rows);
  const tol3z = Math.sqrt(EPS);
  let cut = 0; // rcond·|R₀₀|, set at the first column
  let rank = 0;
  for (let k = 0; k < kmax; k++) {
    // The remaining column of largest norm goes next.
    let pvt = k;
    for (let j = k + 1; j < cols; j++) if (vn1[j]! > vn1[pvt]!) pvt = j;
    if (k === 0) cut = rcond * vn1[pvt]!;
    // Every remaining column is (numerically) in the span of the ones taken: the rank is k.
    if (vn1[pvt]! <= cut || vn1[pvt] === 0) break;
    if (pvt !== k) {
      for (let i = 0; i < rows; i++) {
        const t = a[pvt * rows + i]!;
        a[pvt * rows + i] = a[k * rows + i]!;
        a[k * rows + i] = t;
      }
      const p = perm[pvt]!;
      perm[pvt] = perm[k]!;
      perm[k] = p;
      vn1[pvt] = vn1[k]!;
      vn2[pvt] = vn2[k]!;
    }
    const kk = k * rows + k, len = rows - k;
    tau[k] = householder(a, kk, len);
    for (let j = k + 1; j < cols; j++) reflect(a, kk, tau[k]!, len, a, j * rows + k);
    // Downdate the remaining norms by the row just taken (xLAQP2); recompute where cancellation ate the digits.
    for (let j = k + 1; j < cols; j++) {
      if (vn1[j] === 0) continue;
      let t = Math.abs(a[j * rows + k]!) / vn1[j]!;
      t = Math.max(0, 1 - t * t);
      const t2 = t * (vn1[j]! / vn2[j]!) ** 2;
      if (t2 <= tol3z) {
        vn1[j] = k + 1 < rows ? norm2(a, j * rows + k + 1, rows - k - 1) : 0;
        vn2[j] = vn1[j]!;
      } else vn1[j]! *= Math.sqrt(t);
    }
    rank = k + 1;
  }
  return { rank, tau, perm };
}

/**
 * The minimum-norm least-squares solution x = pinv(A)·B of A·x ≈ B, in
 * double precision: `a` is row-major [rows, cols], `b` row-major
 * [rows, rhs]; neither is modified. See the module comment for the method.
 * Throws a ValueError on a non-finite entry.
 */
export function leastSquares(a: ArrayLike<number>, rows: number, cols: number, b: ArrayLike<number>, rhs: number, options: LeastSquaresOptions = {}): LeastSquaresResult {
  for (const [v, arg] of [[rows, 'rows'], [cols, 'cols'], [rhs, 'rhs']] as const)
    if (!Number.isSafeInteger(v) || v < 1) throw new ValueError(`${arg}: expected a positive integer, got ${v}`);
  if (!a || typeof a.length !== 'number') throw new ArgumentError('a: expected an array of numbers');
  if (!b || typeof b.length !== 'number') throw new ArgumentError('b: expected an array of numbers');
  if (rows * cols > MAX_LSTSQ_ENTRIES || rows * rhs > MAX_LSTSQ_ENTRIES)
    throw new ValueError(`a: ${rows} x ${cols} (and b: ${rows} x ${rhs}) is more than ${MAX_LSTSQ_ENTRIES} (2^28) entries, the most a double-precision solve takes`);
  if (a.length !== rows * cols) throw new ShapeError(`a: ${a.length} values for ${rows} rows of ${cols}`);
  if (b.length !== rows * rhs) throw new ShapeError(`b: ${b.length} values for ${rows} rows of ${rhs}`);
  if (typeof options !== 'object' || options === null) throw new ArgumentError('options: expected an object');
  const rcond = options.rcond ?? Math.max(rows, cols) * EPS;
  if (typeof rcond !== 'number' || !(rcond >= 0 && rcond < 1)) throw new ValueError(`rcond: expected a number in [0, 1), got ${rcond}`);
  // Column-major copies: the reflectors work down columns.
  const A = new Float64Array(rows * cols), B = new Float64Array(rows * rhs);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = +a[i * cols + j]!;
      if (!Number.isFinite(v)) throw new ValueError(`a: row ${i}, column ${j} is ${v}`);
      A[j * rows + i] = v;
    }
    for (let j = 0; j < rhs; j++) {
      const v = +b[i * rhs + j]!;
      if (!Number.isFinite(v)) throw new ValueError(`b: row ${i}, column ${j} is ${v}`);
      B[j * rows + i] = v;
    }
  }
  const { rank: r, tau, perm } = pivotedQr(A, rows, cols, rcond);
  const x = new Float64Array(cols * rhs);
  if (r === 0) return { x, rank: 0 }; // A = 0: pinv(A) = 0
  // c = (Qᵀ·B)[0..r), column-major [r, rhs].
  for (let k = 0; k < r; k++) for (let j = 0; j < rhs; j++) reflect(A, k * rows + k, tau[k]!, rows - k, B, j * rows + k);
  const R = (i: number, j: number) => A[j * rows + i]!;
  const z = new Float64Array(cols * rhs); // column-major [cols, rhs], in pivoted order
  if (r === cols) {
    for (let j = 0; j < rhs; j++)
      for (let i = r - 1; i >= 0; i--) {
        let s = B[j * rows + i]!;
        for (let l = i + 1; l < r; l++) s -= R(i, l) * z[j * cols + l]!;
        z[j * cols + i] = s / R(i, i);
      }
  } else {
    // Tᵀ (cols × r, column-major) = Q₂·L, L upper triangular r×r.
    const M = new Float64Array(cols * r);
    for (let j = 0; j < r; j++) for (let i = j; i < cols; i++) M[j * cols + i] = R(j, i);
    const tau2 = new Float64Array(r);
    for (let k = 0; k < r; k++) {
      tau2[k] = householder(M, k * cols + k, cols - k);
      for (let j = k + 1; j < r; j++) reflect(M, k * cols + k, tau2[k]!, cols - k, M, j * cols + k);
    }
    const L = (i: number, j: number) => M[j * cols + i]!;
    for (let j = 0; j < rhs; j++) {
      // Lᵀ·y = c (forward substitution), then z = Q₂·[y; 0] = H₀·H₁·…·[y; 0].
      const zj = j * cols;
      for (let i = 0; i < r; i++) {
        let s = B[j * rows + i]!;
        for (let l = 0; l < i; l++) s -= L(l, i) * z[zj + l]!;
        z[zj + i] = s / L(i, i);
      }
      for (let k = r - 1; k >= 0; k--) reflect(M, k * cols + k, tau2[k]!, cols - k, z, zj + k);
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < rhs; j++) x[perm[i]! * rhs + j] = z[j * cols + i]!;
  return { x, rank: r };
}
