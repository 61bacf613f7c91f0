// The deterministic network simulation: stacks, paths with link models, one virtual clock, one seed.
export { Simulation, SimulationError, type SimulationOptions, type HostOptions } from './simulation.js'
export { Path, type LinkModel, type PathCounters } from './path.js'
export { simSeeds, replayCommand, withSeed } from './seeds.js'
export { describePacket } from './describe.js'
