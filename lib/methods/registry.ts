/**
 * The methods, one entry each: what the command line lists (`--method`,
 * `imix train --help`), which of its flags each method takes, how a
 * checkpoint's configuration is read back (the method's own keys), and how
 * the method is built. A new method is a new file plus one entry here.
 *
 * This module loads no method class and no native code (`imix --help`
 * works without the addon): each `create` imports its method's module when
 * it is called.
 * @module
 */
import { z } from 'zod';
import { ValueError } from '../errors';
import { mocoQueueProblem } from '../util/options';
import type { ContrastiveMethod, MethodOptions } from './base';
import type { BYOLOptions } from './byol';
import type { MoCo, MoCoOptions } from './moco';
import type { SimSiamOptions } from './simsiam';

/** One method. */
export interface MethodEntry<M extends ContrastiveMethod = ContrastiveMethod, Own extends object = object> {
  /** `--method` value, the class's `name` and the `method` a checkpoint's configuration records. */
  readonly name: string;
  /** One line for `imix train --help`. */
  readonly summary: string;
  /**
   * The method's own options beyond {@link MethodOptions}: exactly the keys
   * its `config()` adds (`extraConfig()`), each optional, as a strict zod
   * object. A checkpoint's configuration is read with it (any other key is
   * refused), and each key's `.describe()` text is the help of the
   * command-line flag that sets it, where one does (lib/cli/options.ts
   * METHOD_OPTION_FLAGS).
   */
  readonly options: z.ZodType<Own> & { readonly shape: Record<string, z.ZodType> };
  /** Whether the loss has a softmax temperature (`--temperature` applies; the option is accepted either way). */
  readonly usesTemperature: boolean;
  /** `--mix` when not given: 'mixup' (i-Mix) unless the method cannot mix. */
  readonly defaultMix: 'none' | 'mixup';
  /**
   * Constructs the method. Its module is loaded here, by a dynamic
   * `import('./<file>.js')`: a static import would load the native addon
   * with the registry.
   */
  create(options: MethodOptions & Own): Promise<M>;
  /**
   * A batch size the method cannot train with (on `rows` rows, when the data
   * is known), found before training starts: throws a ValueError whose
   * message starts with the option at fault and quotes settings as
   * `batchSize=N` (the command line names its flags).
   */
  checkBatch?(method: M, batchSize: number, rows?: number): void;
}

const npair: MethodEntry = {
  name: 'npair',
  summary: 'N-pair / SimCLR in the i-Mix form',
  options: z.strictObject({}),
  usesTemperature: true,
  defaultMix: 'mixup',
  create: async (o) => new (await import('./npair.js')).NPair(o),
};

const simclr: MethodEntry = {
  name: 'simclr',
  summary: 'classic NT-Xent, a no-mixing baseline',
  options: z.strictObject({}),
  usesTemperature: true,
  defaultMix: 'none',
  create: async (o) => new (await import('./simclr.js')).SimCLR(o),
};

const moco: MethodEntry<MoCo, Omit<MoCoOptions, keyof MethodOptions>> = {
  name: 'moco',
  summary: 'MoCo v2',
  options: z.strictObject({
    queueSize: z.number().int().optional().describe('queue length K (default 4096)'),
    momentum: z.number().optional().describe('EMA momentum of the key network (default 0.99)'),
  }),
  usesTemperature: true,
  defaultMix: 'mixup',
  create: async (o) => new (await import('./moco.js')).MoCo(o),
  checkBatch(method, batchSize, rows) {
    const problem = mocoQueueProblem(method.queueSize, batchSize, rows);
    if (problem) throw new ValueError(problem);
  },
};

const byol: MethodEntry<ContrastiveMethod, Omit<BYOLOptions, keyof MethodOptions>> = {
  name: 'byol',
  summary: 'bootstrap your own latent, without negatives',
  options: z.strictObject({
    momentum: z.number().optional().describe('base EMA momentum of the target network, rising to 1 over training (default 0.996)'),
    symmetric: z.boolean().optional(),
    predictorHidden: z.number().int().optional(),
  }),
  usesTemperature: false,
  defaultMix: 'mixup',
  create: async (o) => new (await import('./byol.js')).BYOL(o),
};

const simsiam: MethodEntry<ContrastiveMethod, Omit<SimSiamOptions, keyof MethodOptions>> = {
  name: 'simsiam',
  summary: 'BYOL without the momentum encoder, a stop-gradient target',
  options: z.strictObject({
    symmetric: z.boolean().optional(),
    predictorHidden: z.number().int().optional(),
  }),
  usesTemperature: false,
  defaultMix: 'mixup',
  create: async (o) => new (await import('./simsiam.js')).SimSiam(o),
};

/** Every method, in the order the command line lists them. */
export const METHOD_REGISTRY: readonly MethodEntry[] = [npair, simclr, moco, byol, simsiam];

/** The entry of `name`, or undefined. */
export function methodEntry(name: string): MethodEntry | undefined {
  return METHOD_REGISTRY.find((e) => e.name === name);
}
