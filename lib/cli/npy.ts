/**
 * Writing feature matrices for `imix embed`: the output file's extension
 * picks the library's writer, NPY (`data.writeNpy`, float32 C order) or CSV
 * (`data.writeCsv`, no header); both write atomically.
 * @module
 */
import { data } from '../index';

/** Writes a [rows, cols] matrix to `file` (.npy or .csv by extension), atomically. */
export function writeMatrix(file: string, values: Float32Array, rows: number, cols: number): 'npy' | 'csv' {
  if (values.length !== rows * cols) throw new Error(`writeMatrix: ${values.length} values for [${rows}, ${cols}]`);
  if (/\.npy$/i.test(file)) {
    data.writeNpy(file, values, [rows, cols]);
    return 'npy';
  }
  data.writeCsv(file, values, cols);
  return 'csv';
}
