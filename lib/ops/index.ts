/**
 * The kernels, one family per file, each a thin typed wrapper over the addon.
 * @module
 */
export * from './state';
export * from './gemm';
export * from './loss';
export * from './mix';
export * from './batchnorm';
export * from './optim';
export * from './random';
export * from './elementwise';
export * from './augment';
export * from './color';
export * from './signal';
export * from './resample';
export * from './conv';
export * from './pool';
