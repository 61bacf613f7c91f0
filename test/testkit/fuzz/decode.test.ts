import { describe, expect, it } from 'vitest'
import { ACK, FIN } from '../../../src/stack/wire/tcp'
import { MAX_STEPS, decodeSteps } from '../../../src/testkit/fuzz/decode'

describe('decodeSteps', () => {
  it('decodes every input, the empty one as LISTEN with no steps', () => {
    expect(decodeSteps(new Uint8Array(0))).toEqual({ state: 'LISTEN', steps: [] })
  })

  it('reads the state, then one step per opcode with its operands', () => {
    const d = decodeSteps(Uint8Array.from([
      3, // ESTABLISHED
      0, ACK, 0xff, 0xfe, 0x05, 0x12, 0x34, 2, 0x01, 0x05, 0xb4, // segment: seq -2, ack +5, win 0x1234, 12 bytes, MSS 1460
      11, 2, // wait 200 ms
      12, 0x00, 0x09, // write 10 bytes
      13, 14, // end, destroy
      15, FIN | ACK, 1, // the next segment: FIN, 6 bytes
      10, 2, 0xaa, 0xbb, // raw bytes
    ]))
    expect(d.state).toBe('ESTABLISHED')
    expect(d.steps).toEqual([
      { type: 'segment', flags: ACK, seqOffset: -2, ackOffset: 5, window: 0x1234, dataLength: 12, options: { mss: 1460 }, mutation: undefined },
      { type: 'wait', ms: 200 },
      { type: 'write', length: 10 },
      { type: 'end' },
      { type: 'destroy' },
      { type: 'segment', flags: FIN | ACK, seqOffset: 0, ackOffset: 0, window: 65535, dataLength: 6 },
      { type: 'raw', bytes: Uint8Array.from([0xaa, 0xbb]) },
    ])
  })

  it('stops at MAX_STEPS steps', () => {
    expect(decodeSteps(new Uint8Array(1000).fill(13)).steps.length).toBe(MAX_STEPS)
  })
})
