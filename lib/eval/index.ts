/**
 * Evaluation of frozen encoders: linear probe and kNN.
 * @module
 */
export { knnPredict, knnMonitor, checkKnnMonitor, accuracy, type KnnOptions, type KnnMonitorOptions, type Embedder } from './knn';
export { linearProbe, type ProbeOptions, type ProbeResult } from './probe';
