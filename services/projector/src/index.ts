export { ProjectorThread, type ProjectorThreadOptions } from './projector-thread.js';
export { type ProjectorProcess, runProjector } from './run-projector.js';
export { type ProjectorDeps, type RunningProjector, startProjector } from './start-projector.js';
