// The random source is injected so tests are reproducible from a seed.

export interface Random {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number
}
