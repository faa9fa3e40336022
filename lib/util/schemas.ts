/**
 * Schemas shared by the library's and the command line's persisted files
 * (zod; no native code, so the CLI can load them before the addon).
 * @module
 */
import { z } from 'zod';

/** Largest feature count per sample a checkpoint may declare (the kernels' 32-bit dimension limit). */
export const MAX_SAMPLE_FEATURES = 2 ** 31 - 1;

/** A sample shape a model can be built for: [F], [C, L] or [C, H, W], at most MAX_SAMPLE_FEATURES values. */
export const sampleShapeSchema = z
  .array(z.number().int().positive().max(MAX_SAMPLE_FEATURES))
  .min(1)
  .max(3)
  .refine((s) => s.reduce((a, b) => a * b, 1) <= MAX_SAMPLE_FEATURES, { message: `holds more than ${MAX_SAMPLE_FEATURES} features` });
