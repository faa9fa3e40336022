/**
 * Tensors: fp32 or int32 arrays with a shape, strides and an offset into a
 * storage block on one device. Modules hold views into one flat parameter
 * buffer, so an optimizer or EMA step is one kernel over the whole model.
 *
 * Memory is freed by {@link Tensor.dispose} (or a `using` declaration); the
 * garbage collector frees what is forgotten, as a safety net.
 * @module
 */
import { ArgumentError, DisposedError, ShapeError } from './errors';
import { native, type NativeTensor } from './native';
import { checkOptionsObject as checkOptions } from './util/options';

/** Element types a tensor can hold. */
export type DType = 'float32' | 'int32';
/** `'cpu'`, `'cuda'` (device 0) or `'cuda:N'`. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
/** Typed array matching a dtype. */
export type ArrayFor<D extends DType> = D extends 'float32' ? Float32Array : Int32Array;

function checkShape(shape: readonly number[], arg: string): number[] {
  if (!Array.isArray(shape)) throw new ArgumentError(`${arg}: expected an array of dimensions`);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      throw new ShapeError(`${arg}[${i}]: expected a non-negative integer, got ${String(d)}`);
  }
  return [...shape];
}

const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);


export class Tensor<D extends DType = DType> {
  /** The addon's handle; ops pass it to native code. @internal */
  readonly handle: NativeTensor;

  /** @internal Wrap a native handle (use the static constructors instead). */
  constructor(handle: NativeTensor) {
    this.handle = handle;
  }

  /** A zero-filled tensor. */
  static zeros<D extends DType = 'float32'>(shape: readonly number[], options: { dtype?: D; device?: Device } = {}): Tensor<D> {
    checkOptions(options);
    const dtype = options.dtype ?? 'float32';
    return new Tensor<D>(new native.Tensor(dtype, checkShape(shape, 'shape'), options.device ?? 'cpu'));
  }

  /** A tensor filled with `value`. */
  static full(shape: readonly number[], value: number, options: { device?: Device } = {}): Tensor<'float32'> {
    const t = Tensor.zeros(shape, options);
    t.handle.fill(value);
    return t;
  }

  /**
   * A tensor holding a copy of `data` (one memcpy). `shape` defaults to
   * `[data.length]`; the dtype follows the array type.
   */
  static from(data: Float32Array, shape?: readonly number[], options?: { device?: Device }): Tensor<'float32'>;
  static from(data: Int32Array, shape?: readonly number[], options?: { device?: Device }): Tensor<'int32'>;
  static from(data: number[], shape?: readonly number[], options?: { device?: Device }): Tensor<'float32'>;
  static from(data: Float32Array | Int32Array | number[], shape?: readonly number[], options: { device?: Device } = {}): Tensor {
    checkOptions(options);
    let arr: Float32Array | Int32Array;
    if (Array.isArray(data)) {
      const bad = data.findIndex((v) => typeof v !== 'number');
      if (bad >= 0) throw new ArgumentError(`data[${bad}]: expected a number, got ${typeof data[bad]}`);
      arr = Float32Array.from(data);
    }
    else if (data instanceof Float32Array || data instanceof Int32Array) arr = data;
    else throw new ArgumentError('data: expected a Float32Array, Int32Array or number[]');
    const shp = checkShape(shape ?? [arr.length], 'shape');
    if (numelOf(shp) !== arr.length)
      throw new ShapeError(`shape: [${shp.join(', ')}] holds ${numelOf(shp)} elements but data has ${arr.length}`);
    const dtype: DType = arr instanceof Float32Array ? 'float32' : 'int32';
    const h = new native.Tensor(dtype, shp, options.device ?? 'cpu');
    h.copyFromArray(arr);
    return new Tensor(h);
  }

  get dtype(): D {
    return this.handle.dtype as D;
  }
  private _shape: number[] | undefined;
  private _strides: number[] | undefined;
  /** The dimensions (a frozen array: a tensor's shape never changes). */
  get shape(): number[] {
    // Cached: the native getter builds a new array on every call, and the
    // layers read shapes on every step.
    return (this._shape ??= Object.freeze(this.handle.shape) as number[]);
  }
  get strides(): number[] {
    return (this._strides ??= Object.freeze(this.handle.strides) as number[]);
  }
  /** Element offset of this view into its storage. */
  get offset(): number {
    return this.handle.offset;
  }
  get device(): Device {
    return this.handle.device as Device;
  }
  get numel(): number {
    return this.handle.numel;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get isContiguous(): boolean {
    return this.handle.contiguous;
  }
  get disposed(): boolean {
    return this.handle.disposed;
  }

  /**
   * A view sharing this tensor's storage: `offset` elements past this view's
   * start, with `shape` (and optional `strides`, contiguous by default).
   */
  view(offset: number, shape: readonly number[], strides?: readonly number[]): Tensor<D> {
    return new Tensor<D>(this.handle.view(offset, checkShape(shape, 'shape'), strides ? checkShape(strides, 'strides') : undefined));
  }

  /** Same data, new shape (contiguous tensors only). */
  reshape(shape: readonly number[]): Tensor<D> {
    const shp = checkShape(shape, 'shape');
    if (numelOf(shp) !== this.numel)
      throw new ShapeError(`shape: cannot reshape [${this.shape.join(', ')}] to [${shp.join(', ')}]`);
    if (!this.isContiguous) throw new ShapeError('reshape: tensor is a non-contiguous view');
    return this.view(0, shp);
  }

  /** Rows [start, end) along the first dimension, as a view. */
  rows(start: number, end: number): Tensor<D> {
    const [n, ...rest] = this.shape;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > (n ?? 0) || start > end)
      throw new ShapeError(`rows: [${String(start)}, ${String(end)}) is not a range of the ${n ?? 0} rows`);
    if (!this.isContiguous) throw new ShapeError('rows: tensor is a non-contiguous view');
    const rowSize = numelOf(rest);
    return this.view(start * rowSize, [end - start, ...rest]);
  }

  /** Copies the data into a new typed array (one memcpy). */
  toArray(): ArrayFor<D> {
    const out = this.dtype === 'float32' ? new Float32Array(this.numel) : new Int32Array(this.numel);
    this.handle.copyToArray(out);
    return out as ArrayFor<D>;
  }

  /**
   * Issues a copy of the elements (a contiguous tensor) to the host without
   * waiting for it, and returns a ticket for {@link Tensor.finishRead}: on a
   * CUDA device the copy goes into pinned memory on the device's stream, so
   * it is complete, and finishRead costs no synchronization, once any later
   * call has waited for that stream (a loss's read-back). One read is staged
   * per device; a later startRead on the same device replaces it. @internal
   */
  startRead(): number {
    return native.readbackStart(handleOf(this, 'tensor'));
  }

  /**
   * The elements a {@link Tensor.startRead} ticket of this tensor staged
   * (waiting for the device only if it has not reached the copy yet). A
   * ValueError when the ticket was finished already or replaced. @internal
   */
  finishRead(ticket: number): ArrayFor<D> {
    const out = this.dtype === 'float32' ? new Float32Array(this.numel) : new Int32Array(this.numel);
    native.readbackFinish(ticket, out);
    return out as ArrayFor<D>;
  }

  /** Overwrites this tensor's data from a typed array of the same length. */
  set(data: ArrayFor<D>): this {
    this.handle.copyFromArray(data);
    return this;
  }

  /** Overwrites this tensor with another tensor's data (same element count). */
  copyFrom(src: Tensor<D>): this {
    this.handle.copyFrom(handleOf(src, 'source'));
    return this;
  }

  fill(value: number): this {
    this.handle.fill(value);
    return this;
  }

  /** True when both tensors view the same storage block. */
  sharesStorage(other: Tensor): boolean {
    return this.handle.sameStorage(handleOf(other, 'other'));
  }

  /** Releases this handle's reference to the storage now. Idempotent. */
  dispose(): void {
    this.handle.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return this.disposed ? 'Tensor(disposed)' : `Tensor(${this.dtype}, [${this.shape.join(', ')}], ${this.device})`;
  }
}

/** The native handle of a Tensor argument (the addon checks disposal); an ArgumentError naming `arg` for anything else. */
function handleOf(t: Tensor, arg: string): NativeTensor {
  if (!(t instanceof Tensor) || !(t.handle instanceof native.Tensor)) throw new ArgumentError(`${arg}: expected a Tensor`);
  return t.handle;
}

/** Throws DisposedError naming `arg` when `t` was disposed. */
export function requireLive(t: Tensor, arg: string): void {
  // The handle check catches objects that only inherit from Tensor.prototype.
  if (handleOf(t, arg).disposed) throw new DisposedError(`${arg}: tensor has been disposed`);
}
