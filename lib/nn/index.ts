/**
 * Modules with explicit forward/backward over flat parameter buffers.
 * @module
 */
export { Module, Parameter, Buffer, ParameterStore, Workspace, type Init } from './module';
export { Linear, BatchNorm1d, ReLU, Maxout, Flatten, Sequential } from './layers';
export { mlp, tabularEncoder, projectionHead } from './presets';
export { MemoryBank, type BankInit } from './memory-bank';
