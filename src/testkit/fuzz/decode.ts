// Turn a fuzzer's raw bytes into a starting state and a list of steps, so a
// byte-mutating fuzzer (Jazzer.js/libFuzzer, or our own loop) can drive a live
// connection. Every input decodes to something: missing bytes read as zero.
//
//   byte 0              the state to start from (OPEN_STATES, modulo)
//   then, per step      an opcode byte (modulo 16) and its operands:
//     0-8   a segment near the window: flags, seq offset (int16), ack offset (int8),
//           window (uint16), data length (byte * 6, at most 1400), an options byte
//           (bit 0 MSS, 1 window scale, 2 SACK-permitted, 3 timestamps, 4 a mutation)
//           and the operands the options byte asks for
//     9     the same with a seq offset anywhere (int32)
//     10    raw bytes: a length (modulo 81) and the bytes
//     11    time passes: 1, 40, 200, 1000, 5000 or 65000 ms
//     12    the application writes (uint16 modulo 4096, plus one) bytes
//     13    the application ends its side (FIN)
//     14    the application destroys the socket (RST)
//     15    the well-behaved next segment: flags and a data length byte

import type { TcpOptions } from '../../stack/wire/tcp.js'
import { OPEN_STATES, type Mutation, type OpenState } from './connection.js'
import type { Step } from './steps.js'

export const MAX_STEPS = 32
const WAITS = [1, 40, 200, 1_000, 5_000, 65_000]
const MUTATIONS = ['flip-bit', 'set-byte', 'truncate', 'extend'] as const

/** Reads numbers from the input, front to back; past the end everything is zero. */
class Reader {
  private at = 0
  constructor(private readonly data: Uint8Array) {}
  get done(): boolean {
    return this.at >= this.data.length
  }
  u8(): number {
    return this.at < this.data.length ? this.data[this.at++]! : (this.at++, 0)
  }
  u16(): number {
    return (this.u8() << 8) | this.u8()
  }
  i16(): number {
    return (this.u16() << 16) >> 16
  }
  i8(): number {
    return (this.u8() << 24) >> 24
  }
  u32(): number {
    return ((this.u16() << 16) | this.u16()) >>> 0
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.u8()
    return out
  }
}

export interface Decoded {
  state: OpenState
  steps: Step[]
}

export function decodeSteps(data: Uint8Array): Decoded {
  const r = new Reader(data)
  const state = OPEN_STATES[r.u8() % OPEN_STATES.length]!
  const steps: Step[] = []
  while (!r.done && steps.length < MAX_STEPS) {
    const op = r.u8() % 16
    if (op <= 9) steps.push(segment(r, op === 9))
    else if (op === 10) steps.push({ type: 'raw', bytes: r.bytes(r.u8() % 81) })
    else if (op === 11) steps.push({ type: 'wait', ms: WAITS[r.u8() % WAITS.length]! })
    else if (op === 12) steps.push({ type: 'write', length: (r.u16() % 4096) + 1 })
    else if (op === 13) steps.push({ type: 'end' })
    else if (op === 14) steps.push({ type: 'destroy' })
    else steps.push({ type: 'segment', flags: r.u8(), seqOffset: 0, ackOffset: 0, window: 65535, dataLength: Math.min(1400, r.u8() * 6) })
  }
  return { state, steps }
}

function segment(r: Reader, far: boolean): Step {
  const flags = r.u8()
  const seqOffset = far ? r.u32() | 0 : r.i16()
  const ackOffset = r.i8()
  const window = r.u16()
  const dataLength = Math.min(1400, r.u8() * 6)
  const which = r.u8()
  let options: TcpOptions | undefined
  if (which & 0x0f) {
    options = {}
    if (which & 1) options.mss = r.u16()
    if (which & 2) options.windowScale = r.u8() % 16
    if (which & 4) options.sackPermitted = true
    if (which & 8) options.timestamp = { value: r.u32(), echo: r.u32() }
  }
  let mutation: Mutation | undefined
  if (which & 0x10) {
    const kind = MUTATIONS[r.u8() % MUTATIONS.length]!
    const n = r.u16()
    if (kind === 'flip-bit') mutation = { kind, bit: n }
    else if (kind === 'set-byte') mutation = { kind, index: n, value: r.u8() }
    else if (kind === 'truncate') mutation = { kind, length: n }
    else mutation = { kind, bytes: Array.from(r.bytes(n % 9)) }
  }
  return { type: 'segment', flags, seqOffset, ackOffset, window, dataLength, options, mutation }
}
