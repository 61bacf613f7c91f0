// Bugs the fuzzers found, each kept as a regression test once fixed: the smallest
// case that showed it, with the command that found it.

import { describe, expect, it } from 'vitest'
import { ACK, FIN } from '../../../src/stack/wire/tcp'
import { FuzzConnection } from '../../../src/testkit/fuzz/connection'

describe('found by fuzzing', () => {
  // Found by `npm run fuzz -- segment --seed 1` (execution 7997) and by the property test
  // with FUZZ_RUNS=3000 (fast-check seed 619059466). RFC 9293 3.10.7.4, eighth: a FIN
  // ends the stream at its sequence number; Linux drops the out-of-order queue then (tcp_fin).
  it('a FIN ends the stream even when out-of-order data lies beyond it (9293 3.10.7.4)', async () => {
    const f = await FuzzConnection.open('ESTABLISHED')
    await f.apply({ type: 'segment', segment: f.segment(ACK, { seq: 2, dataLength: 1 }) }) // byte 2, out of order
    await f.apply({ type: 'segment', segment: f.segment(ACK | FIN, { seq: 1, dataLength: 1 }) }) // byte 1, FIN at 2
    // The stack used to deliver byte 2 after the FIN and acknowledge a FIN at 3 instead of 2.
    expect(f.violations()).toEqual([])
    expect(f.sent[f.sent.length - 1]!.ack - f.sent[0]!.ack).toBeLessThanOrEqual(2)
  })
})
