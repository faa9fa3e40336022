/**
 * Evaluation of frozen encoders: linear probe and kNN.
 * @module
 */
export { knnPredict, knnMonitor, accuracy, type KnnOptions, type Embedder } from './knn';
export { linearProbe, type ProbeOptions, type ProbeResult } from './probe';
