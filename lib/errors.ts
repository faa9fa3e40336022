/**
 * Typed errors. Every entry point of imix throws one of these, with a message
 * that starts with the name of the offending argument. The native addon
 * throws the same classes (they are registered with it at load time).
 * @module
 */

/** Base class of every error imix throws on bad input or backend failure. */
export class ImixError extends Error {
  /** Stable machine-readable code, e.g. `IMIX_SHAPE`. */
  readonly code: string = 'IMIX_ERROR';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** An argument of the wrong JS type, or a required argument missing. */
export class ArgumentError extends ImixError {
  override readonly code = 'IMIX_ARGUMENT';
}
/** A tensor whose shape does not fit the operation. */
export class ShapeError extends ImixError {
  override readonly code = 'IMIX_SHAPE';
}
/** A tensor of the wrong dtype (float32 vs int32). */
export class DTypeError extends ImixError {
  override readonly code = 'IMIX_DTYPE';
}
/** Tensors on different devices, or a device that is not available. */
export class DeviceError extends ImixError {
  override readonly code = 'IMIX_DEVICE';
}
/** A value out of its allowed range: NaN, λ outside [0, 1], a bad permutation, ... */
export class ValueError extends ImixError {
  override readonly code = 'IMIX_VALUE';
}
/** Use of a tensor after `dispose()`. */
export class DisposedError extends ImixError {
  override readonly code = 'IMIX_DISPOSED';
}
/** The backend failed: out of memory, a CUDA error, an internal error. */
export class BackendError extends ImixError {
  override readonly code = 'IMIX_BACKEND';
}

/**
 * Training diverged: a step's loss was not finite or was above the bound it
 * can reach with finite weights, or the weights themselves stopped being
 * finite. Nothing of the diverged state is saved: a checkpoint folder keeps
 * its last checkpoint. A ValueError, as the settings that caused it are.
 */
export class DivergenceError extends ValueError {
  /** The step (counted from 1, as progress events count them) at which it was seen. */
  readonly step: number;
  constructor(message: string, step: number) {
    super(message);
    this.step = step;
  }
}

/** A data or checkpoint file that is missing, truncated or malformed. */
export class DataError extends ImixError {
  override readonly code = 'IMIX_DATA';
}

export const errorClasses = {
  ArgumentError,
  ShapeError,
  DTypeError,
  DeviceError,
  ValueError,
  DisposedError,
  BackendError,
};
