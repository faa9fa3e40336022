/**
 * Losses as composable pieces, forward and backward in one call, over
 * L2-normalized embeddings: InfoNCE (N-pair, SimCLR's NT-Xent, MoCo with a
 * memory bank of negatives), the mixed cosine loss (BYOL, SimSiam), and the
 * L2 normalization between a network and a loss. Each takes i-Mix's draw
 * (π, λ) for the mixed virtual labels.
 * @module
 */
export { InfoNCE, type InfoNCEInputs, type MixTargets } from './infonce';
export { MixedCosine, type CosinePairs, type ViewPair } from './mixed-cosine';
export { L2Normalize } from './normalize';
