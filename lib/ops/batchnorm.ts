/**
 * batchnorm kernels (placeholder until the family lands).
 * @module
 */
export {};
