/**
 * The kernels, one family per file, each a thin typed wrapper over the addon.
 * @module
 */
export * from './state';
