export * from './errors.js';
export * from './diagnostics.js';
export * from './progress.js';
