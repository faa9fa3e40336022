/**
 * Datasets and file formats.
 * @module
 */
export { type Dataset, fromArray, loadIdxDataset, fashionMnist, bundledDataDir, subset, featureCount, Standardizer } from './dataset';
export { readIdx, parseIdx, type IdxArray } from './idx';
