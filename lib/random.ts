/**
 * Host-side randomness (permutations, λ ~ Beta(α, α), shuffles) from the same
 * Philox4x32-10 counter-based generator the kernels use (native/common/philox.h).
 *
 * A generator is fully described by (seed, offset, position): nothing else is
 * hidden, so a checkpoint stores three numbers and a resumed run draws exactly
 * what the uninterrupted run would have drawn. The training loops derive each
 * step's streams from (seed, step, purpose), so the state is the step count.
 * @module
 */
import { ValueError } from './errors';

const TWO32 = 4294967296;

/** High and low 32 bits of the 64-bit product a·b of two uint32 values. */
export function mulhilo(a: number, b: number): [number, number] {
  return [mulhi(a, b), Math.imul(a, b) >>> 0];
}

/** High 32 bits of the 64-bit product of two uint32 values (exact: 16-bit halves in doubles). */
function mulhi(a: number, b: number): number {
  const ah = a >>> 16, al = a & 0xffff, bh = b >>> 16, bl = b & 0xffff;
  const mid = ah * bl + al * bh + ((al * bl) >>> 16);
  return (ah * bh + Math.floor(mid / 65536)) >>> 0;
}

/** Philox4x32-10 on raw 32-bit words: counter {c0..c3}, key {k0, k1}. */
export function philox4x32_10(ctr: readonly number[], key: readonly number[]): [number, number, number, number] {
  let c0 = ctr[0]! >>> 0, c1 = ctr[1]! >>> 0, c2 = ctr[2]! >>> 0, c3 = ctr[3]! >>> 0;
  let k0 = key[0]! >>> 0, k1 = key[1]! >>> 0;
  for (let r = 0; r < 10; r++) {
    // Hot loop (every host draw): no tuple allocation per multiply.
    const hi0 = mulhi(0xd2511f53, c0), lo0 = Math.imul(0xd2511f53, c0) >>> 0;
    const hi1 = mulhi(0xcd9e8d57, c2), lo1 = Math.imul(0xcd9e8d57, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0, n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

const lo32 = (v: number) => v >>> 0;
const hi32 = (v: number) => Math.floor(v / TWO32) >>> 0;

/**
 * One block of stream (seed, offset), the layout of native/common/philox.h:
 * key = seed (64-bit), counter = {lo(block), hi(block), lo(offset), hi(offset)}.
 */
export function philoxBlock(seed: number, block: number, offset: number): [number, number, number, number] {
  return philox4x32_10([lo32(block), hi32(block), lo32(offset), hi32(offset)], [lo32(seed), hi32(seed)]);
}

function checkU53(v: number, arg: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new ValueError(`${arg}: expected a non-negative integer below 2^53, got ${v}`);
  return v;
}

/** Serializable generator state. */
export interface GeneratorState {
  seed: number;
  offset: number;
  position: number;
}

/**
 * A sequential reader of the Philox stream (seed, offset): word i of the
 * stream is word (i mod 4) of block ⌊i/4⌋, exactly as the kernels index it.
 */
export class Generator {
  readonly seed: number;
  readonly offset: number;
  private pos: number;
  private buf: [number, number, number, number] = [0, 0, 0, 0];
  private bufBlock = -1;
  private spareNormal: number | null = null;

  constructor(seed: number, offset = 0, position = 0) {
    this.seed = checkU53(seed, 'seed');
    this.offset = checkU53(offset, 'offset');
    this.pos = checkU53(position, 'position');
  }

  static fromState(s: GeneratorState): Generator {
    return new Generator(s.seed, s.offset, s.position);
  }

  state(): GeneratorState {
    return { seed: this.seed, offset: this.offset, position: this.pos };
  }

  /** Next 32-bit word. */
  nextU32(): number {
    const b = Math.floor(this.pos / 4);
    if (b !== this.bufBlock) {
      this.buf = philoxBlock(this.seed, b, this.offset);
      this.bufBlock = b;
    }
    const w = this.buf[this.pos & 3]!;
    this.pos++;
    return w;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5, lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n) (rejection sampling, unbiased). */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) throw new ValueError(`n: expected a positive integer, got ${n}`);
    if (n <= TWO32) {
      const limit = TWO32 - (TWO32 % n);
      for (;;) {
        const w = this.nextU32();
        if (w < limit) return w % n;
      }
    }
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const u1 = 1 - this.uniform(), u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Gamma(shape, 1) by Marsaglia–Tsang; shape < 1 via the Gamma(shape+1)·U^(1/shape) boost. */
  gamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new ValueError(`shape: expected a positive number, got ${shape}`);
    if (shape < 1) {
      const u = 1 - this.uniform();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) as G_a / (G_a + G_b); Beta(1, 1) is the uniform distribution (i-Mix's default α). */
  beta(a: number, b: number): number {
    if (a === 1 && b === 1) return this.uniform();
    const x = this.gamma(a), y = this.gamma(b);
    return x + y > 0 ? x / (x + y) : 0.5;
  }

  /** A uniform random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new ValueError(`n: expected an integer in [0, 2^31), got ${n}`);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

/**
 * i-Mix mixing coefficients: λ_i ~ Beta(α, α), then λ_i = max(λ_i, 1 − λ_i)
 * (the authors' reference code), one per row or one for the whole batch.
 */
export function sampleLambda(gen: Generator, n: number, alpha: number, perBatch = false): Float32Array {
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new ValueError(`alpha: expected a positive number, got ${alpha}`);
  const out = new Float32Array(n);
  const draw = () => {
    const l = gen.beta(alpha, alpha);
    return Math.max(l, 1 - l);
  };
  if (perBatch) out.fill(draw());
  else for (let i = 0; i < n; i++) out[i] = draw();
  return out;
}
