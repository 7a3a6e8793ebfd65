// Parse and validate cortex.yaml (the seed's list format) into a Spec with Cortex v0.20 defaults.
export { shownPath, SpecError } from './errors.js';
export { loadSpec } from './load.js';
export { parseSpec } from './parse.js';
export { formatMemory, parseCpu, parseDuration, parseMemory } from './quantities.js';
export type { ApiSpec, AutoscalingSpec, ComputeSpec, NetworkingSpec, PredictorSpec, Spec, UpdateStrategySpec } from './types.js';
