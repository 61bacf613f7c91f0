// A fuzz target: code under test that takes arbitrary bytes. It throws when it finds
// a bug, and reports the features an input exercised (drop reasons, state changes,
// flags sent...) so a fuzzing loop can keep the inputs that reach something new.

export interface FuzzTarget {
  /** The directory name under fuzz/corpus and fuzz/regressions. */
  readonly name: string
  /** Run one input; throws on a bug. */
  run(data: Uint8Array): Set<string> | Promise<Set<string>>
}
