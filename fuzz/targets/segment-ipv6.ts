// Fuzz target: the segment target (segment.ts) over IPv6: the same state, steps and
// invariants, on a connection between fd00::1 and fd00::2, so every mutation also hits the
// IPv6 header, its pseudo header and the ICMPv6 answers. Seeds: fuzz/corpus/segment-ipv6.
//
//   Jazzer.js:  npx jazzer fuzz/.build/segment-ipv6.cjs fuzz/corpus/segment-ipv6
//   our loop:   npm run fuzz -- segment-ipv6

import type { FuzzTarget } from '../../src/testkit/fuzz/target'
import { runSteps } from './segment'

export const target: FuzzTarget = {
  name: 'segment-ipv6',
  run: data => runSteps(data, true),
}

/** The Jazzer.js entry point. */
export async function fuzz(data: Buffer): Promise<void> {
  await target.run(data)
}
