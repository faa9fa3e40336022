/**
 * Modules with explicit forward/backward over flat parameter buffers.
 * @module
 */
export { Module, Parameter, Buffer, ParameterStore, Workspace, type Init } from './module';
export { Linear, ReLU, Maxout, Flatten, Sequential } from './layers';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './batchnorm';
export { Conv1d, Conv2d, type ConvOptions, type Size2 } from './conv';
export { MaxPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d } from './pooling';
export { BasicBlock, BlockGradients, resnet18, resnet20, resnet1d, type SpatialDims } from './resnet';
export { releaseScratch } from './scratch';
export { mlp, tabularEncoder, projectionHead } from './presets';
export { MemoryBank, type BankInit } from './memory-bank';
