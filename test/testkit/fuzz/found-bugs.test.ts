// Bugs the fuzzers found that are not fixed yet, each as the smallest sequence of
// segments that shows it (fast-check shrank it). `it.fails` passes while the bug is
// there; once it is fixed the test fails: turn it into a plain `it` and keep it.

import { describe, expect, it } from 'vitest'
import { ACK, FIN } from '../../../src/stack/wire/tcp'
import { FuzzConnection } from '../../../src/testkit/fuzz/connection'

describe('found by fuzzing, still open', () => {
  // Found by `npm run fuzz -- segment --seed 1` (execution 7997) and by the property test
  // with FUZZ_RUNS=3000 (fast-check seed 619059466). RFC 9293 3.10.7.4, eighth: a FIN
  // ends the stream at its sequence number; Linux drops the out-of-order queue then (tcp_fin).
  it.fails('a FIN ends the stream even when out-of-order data lies beyond it (9293 3.10.7.4)', async () => {
    const f = await FuzzConnection.open('ESTABLISHED')
    await f.apply({ type: 'segment', segment: f.segment(ACK, { seq: 2, dataLength: 1 }) }) // byte 2, out of order
    await f.apply({ type: 'segment', segment: f.segment(ACK | FIN, { seq: 1, dataLength: 1 }) }) // byte 1, FIN at 2
    // The stack delivers byte 2 after the FIN and acknowledges a FIN at 3 instead of 2.
    expect(f.violations()).toEqual([])
    expect(f.sent[f.sent.length - 1]!.ack - f.sent[0]!.ack).toBeLessThanOrEqual(2)
  })
})
