import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Kernels use both cores through OpenMP/BLAS; one test file at a time
    // keeps timings sane on a 2-core machine.
    fileParallelism: false,
    testTimeout: 60_000,
  },
});
