/**
 * Datasets and file formats.
 * @module
 */
export { type Dataset, checkDataset, fromArray, loadIdxDataset, fashionMnist, bundledDataDir, subset, featureCount, Standardizer } from './dataset';
export { readIdx, parseIdx, type IdxArray } from './idx';
export {
  loadCsv,
  parseCsv,
  tokenizeCsv,
  writeCsv,
  formatFloat32,
  CsvTokenizer,
  type CsvOptions,
  type CsvSchema,
  type CsvResult,
  type ColumnRef,
  type MissingPolicy,
  type WriteCsvOptions,
} from './csv';
export { readNpy, readNpyLabels, parseNpy, parseNpyHeader, writeNpy, encodeNpy, type NpyArray, type NpyHeader } from './npy';
export { loadDataset, loadDatasetAsync, trainTestSplit, selectRows, idxSplitFiles, type SplitOptions, type LoadOptions, type AsyncLoadOptions, type LoadedDataset, type DataFormat } from './load';
export {
  loadImageFolder,
  listImageFolder,
  isImageFolder,
  IMAGE_EXTENSIONS,
  MAX_IMAGE_SIDE,
  MAX_IMAGE_PIXELS,
  MAX_IMAGE_FILE_BYTES,
  DEFAULT_IMAGE_CONCURRENCY,
  imageFolderOptionKeys,
  type ImageFolderOptions,
  type ImageFolderListing,
} from './images';
