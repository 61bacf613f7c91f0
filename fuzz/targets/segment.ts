// Fuzz target: segment processing against a live connection. The input chooses a
// state (LISTEN ... LAST-ACK) and a list of steps (segments near and far from the
// window, malformed packets, the passing of time, application calls), decoded by
// src/testkit/fuzz/decode.ts; after every step the connection's invariants must
// hold (src/testkit/fuzz/connection.ts): nothing throws, states move along RFC 9293
// arcs, SND.UNA <= SND.NXT, the application reads only what the peer sent, no ACK
// covers unsent data, buffers stay bounded.
//
//   Jazzer.js:  npx jazzer fuzz/.build/segment.cjs fuzz/corpus/segment
//   our loop:   npm run fuzz -- segment

import { flagsToString } from '../../src/stack/wire/tcp'
import { FuzzConnection } from '../../src/testkit/fuzz/connection'
import { decodeSteps } from '../../src/testkit/fuzz/decode'
import { resolveStep } from '../../src/testkit/fuzz/steps'
import type { FuzzTarget } from '../../src/testkit/fuzz/target'

export const target: FuzzTarget = {
  name: 'segment',
  run: data => runSteps(data, false),
}

/** Decode `data` into a state and steps, and run them on a connection (over IPv6 with `ipv6`: segment-ipv6.ts). */
export async function runSteps(data: Uint8Array, ipv6: boolean): Promise<Set<string>> {
  const { state, steps } = decodeSteps(data)
  const f = await FuzzConnection.open(state, ipv6)
  const features = new Set<string>([`open:${state}`])
  f.stack.on('state', (c: { from: string; to: string; cause: string }) => features.add(`arc:${c.from}>${c.to}:${c.cause}`))
  for (const s of steps) {
    await f.apply(resolveStep(f, s))
    const broken = f.violations()
    if (broken.length > 0) throw new Error(`from ${state}, after ${JSON.stringify(s)}:\n  ${broken.join('\n  ')}`)
  }
  for (const reason of Object.keys(f.stack.counters.drops)) features.add(`drop:${reason}`)
  for (const seg of f.sent) features.add(`sent:${f.state}:${flagsToString(seg.flags)}`)
  return features
}

/** The Jazzer.js entry point. */
export async function fuzz(data: Buffer): Promise<void> {
  await target.run(data)
}
