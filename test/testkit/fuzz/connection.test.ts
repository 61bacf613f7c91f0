// Property tests: random sequences of valid-looking and malformed segments (and
// application calls, and the passing of time) against a connection driven into each
// RFC 9293 state, with the stack's invariants checked after every step (see
// src/testkit/fuzz/connection.ts for the list). Bounded for CI; for longer runs:
//   FUZZ_RUNS=2000 npx vitest run test/testkit/fuzz/
// A failure prints fast-check's seed and path; replay it with
//   FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run test/testkit/fuzz/connection.test.ts -t '<state>'

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ACK, FIN, PSH, RST, SYN, URG, type TcpOptions } from '../../../src/stack/wire/tcp'
import { FuzzConnection, OPEN_STATES, mutate, patternByte, type Mutation } from '../../../src/testkit/fuzz/connection'
import { resolveStep, type Step } from '../../../src/testkit/fuzz/steps'

const RUNS = Number(process.env.FUZZ_RUNS ?? 100)
const replay = process.env.FUZZ_SEED !== undefined
  ? { seed: Number(process.env.FUZZ_SEED), path: process.env.FUZZ_PATH }
  : {}

/** Sequence and acknowledgment numbers: mostly near where the connection is, sometimes anywhere. */
const offset = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 3, arbitrary: fc.integer({ min: -70_000, max: 70_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
)

const flags = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(ACK, ACK | PSH, FIN | ACK, SYN, SYN | ACK, RST, RST | ACK, FIN, 0) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xff }) },
)

const options: fc.Arbitrary<TcpOptions | undefined> = fc.option(fc.record({
  mss: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
  windowScale: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
  sackPermitted: fc.option(fc.boolean(), { nil: undefined }),
  timestamp: fc.option(fc.record({ value: fc.nat(), echo: fc.nat() }), { nil: undefined }),
}, { requiredKeys: [] }), { nil: undefined, freq: 3 })

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip-bit' as const), bit: fc.nat(12_000) }),
  fc.record({ kind: fc.constant('set-byte' as const), index: fc.nat(1500), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat(1500) }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.array(fc.nat(255), { maxLength: 8 }) }),
)

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({
    type: fc.constant('segment' as const), flags, seqOffset: offset, ackOffset: offset,
    window: fc.oneof(fc.constant(65535), fc.constant(0), fc.nat(65535)),
    dataLength: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 1400 })),
    options, mutation: fc.option(mutation, { nil: undefined, freq: 5 }),
  }, { requiredKeys: ['type', 'flags', 'seqOffset', 'ackOffset', 'window', 'dataLength'] }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 80 }) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('wait' as const), ms: fc.constantFrom(1, 40, 200, 1_000, 5_000, 65_000) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('write' as const), length: fc.integer({ min: 1, max: 4096 }) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'end' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'destroy' as const }) },
)

describe('the connection driver', () => {
  it('drives a fresh stack into each state it fuzzes from, breaking no invariant on the way', async () => {
    for (const state of OPEN_STATES) {
      const f = await FuzzConnection.open(state)
      expect(f.state).toBe(state)
      expect(f.violations()).toEqual([])
    }
  })

  it('delivers in-order data from the peer stream and sees its ACK cover only what was sent', async () => {
    const f = await FuzzConnection.open('ESTABLISHED')
    await f.apply({ type: 'segment', segment: f.segment(ACK | PSH, { dataLength: 300 }) })
    const ack = f.sent[f.sent.length - 1]
    expect(f.violations()).toEqual([])
    expect(f.peerNxt).toBe(301)
    expect(ack === undefined || (ack.flags & ACK) !== 0).toBe(true)
  })

  it('catches a broken invariant: bytes delivered that are not the peer stream', async () => {
    const f = await FuzzConnection.open('ESTABLISHED')
    const lie = new Uint8Array(10).fill(0xee)
    await f.apply({ type: 'segment', segment: f.segment(ACK | PSH, { payload: lie }) })
    expect(f.violations()[0]).toMatch(/^byte 0 delivered to the application is 238, the peer sent \d+$/)
  })

  it('mutates copies: flip one bit, set a byte, truncate, extend', () => {
    const p = new Uint8Array([1, 2, 3, 4])
    expect(mutate(p, { kind: 'flip-bit', bit: 9 })).toEqual(new Uint8Array([1, 0, 3, 4]))
    expect(mutate(p, { kind: 'set-byte', index: 6, value: 0x1ff })).toEqual(new Uint8Array([1, 2, 255, 4]))
    expect(mutate(p, { kind: 'truncate', length: 2 })).toEqual(new Uint8Array([1, 2]))
    expect(mutate(p, { kind: 'extend', bytes: [9] })).toEqual(new Uint8Array([1, 2, 3, 4, 9]))
    expect(p).toEqual(new Uint8Array([1, 2, 3, 4]))
    expect(patternByte(0x1_0000_0005)).toBe(patternByte(5))
  })
})

describe('invariants hold under random segments (RFC 9293 3.10, RFC 5961)', () => {
  for (const state of OPEN_STATES) {
    it(`from ${state}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async steps => {
          const f = await FuzzConnection.open(state)
          for (const s of steps) {
            await f.apply(resolveStep(f, s))
            const broken = f.violations()
            if (broken.length > 0) throw new Error(`after ${JSON.stringify(s)}:\n  ${broken.join('\n  ')}`)
          }
        }),
        { numRuns: RUNS, ...replay },
      )
    }, 120_000)
  }
})

describe('the same invariants over IPv6 (one TCP layer for both families)', () => {
  it('drives a fresh stack into each state over IPv6, breaking no invariant on the way', async () => {
    for (const state of OPEN_STATES) {
      const f = await FuzzConnection.open(state, true)
      expect(f.state).toBe(state)
      expect(f.violations()).toEqual([])
    }
    const f = await FuzzConnection.open('ESTABLISHED', true)
    expect(f.stack.connections()[0]).toMatchObject({ localAddress: 'fd00::2', remoteAddress: 'fd00::1' })
  })

  for (const state of ['SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'TIME-WAIT'] as const) {
    it(`from ${state}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async steps => {
          const f = await FuzzConnection.open(state, true)
          for (const s of steps) {
            await f.apply(resolveStep(f, s))
            const broken = f.violations()
            if (broken.length > 0) throw new Error(`after ${JSON.stringify(s)}:\n  ${broken.join('\n  ')}`)
          }
        }),
        { numRuns: Math.max(10, RUNS / 4), ...replay },
      )
    }, 120_000)
  }
})
