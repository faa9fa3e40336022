/**
 * Evaluation of frozen encoders: linear probe, least-squares (pinv) probe,
 * kNN, the few-label protocol, and the training monitors.
 * @module
 */
export { knnPredict, knnMonitor, checkKnnMonitor, accuracy, type KnnOptions, type KnnMonitorOptions, type Embedder } from './knn';
export { linearProbe, type ProbeData, type ProbeOptions, type ProbeResult } from './probe';
export { leastSquares, MAX_LSTSQ_ENTRIES, type LeastSquaresOptions, type LeastSquaresResult } from './lstsq';
export { pinvProbe, type PinvProbeOptions, type PinvProbeResult } from './pinv';
export {
  stratifiedSubset,
  fewLabelProbe,
  runProbe,
  meanStd,
  SUBSET_STREAM,
  PROBE_KINDS,
  MAX_DRAWS,
  type ProbeKind,
  type ProbeSpec,
  type ProbeOutcome,
  type FewLabelOptions,
  type FewLabelResult,
} from './few-label';
export { stdOfL2Normalized } from './monitors';
