// The deterministic network simulation: stacks, paths with link models, one virtual clock, one seed.
export { Simulation, SimulationError, type SimulationOptions, type HostOptions } from './simulation'
export { Path, type LinkModel, type PathCounters } from './path'
export { simSeeds, replayCommand, withSeed } from './seeds'
export { describePacket } from './describe'
