// Hostile traffic from the kernel side of the TUN device, against the stack
// serving in this process (10.66.0.2; the kernel is 10.66.0.1): a SYN flood of
// 10,000 SYNs from spoofed sources (hping3), blind RST, SYN and data injection
// into a live connection, and malformed packets (scapy, test/kernel/craft.py).
// After each: the live connection (a Node net socket on echo) still echoes, a
// fresh curl succeeds, and the stack's counters say what it dropped and why.
// Also a duplicate of data the stack already has (our ACK was lost, as far as the
// sender can tell): the stack answers at once and ACKs the next segments at once too.

import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { connect as netConnect, type Socket as NetSocket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serveAll } from '../../src/apps/index'
import { Stack } from '../../src/stack/stack'
import { seqAdd, seqGt } from '../../src/stack/tcp/seq'
import { FIN, SYN } from '../../src/stack/wire/tcp'
import { configureKernelSide } from '../../src/tun/iproute'
import { TunDevice } from '../../src/tun/tun-device'
import { run, runText, sleep } from './helpers'
import { requireFreshNetns } from './netns'

const DEV = 'tkhost0'
const KERNEL = '10.66.0.1'
const ADDR = '10.66.0.2'
const CRAFT = fileURLToPath(new URL('./craft.py', import.meta.url))

/** The Python that has scapy: the one named in the scapy command's #! line (Debian's python3-scapy). */
function scapyPython(): string | null {
  try {
    const scapy = execFileSync('sh', ['-c', 'command -v scapy'], { encoding: 'utf8' }).trim()
    const shebang = /^#!\s*(\S+)/.exec(readFileSync(scapy, 'utf8'))?.[1]
    return shebang !== undefined && existsSync(shebang) ? shebang : null
  } catch {
    return null
  }
}

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const python = scapyPython()
const missing = [...(onPath('hping3') ? [] : ['hping3']), ...(python !== null ? [] : ['python3-scapy'])]
if (missing.length > 0 && process.env.CI) throw new Error(`hostile traffic tests need ${missing.join(', ')} (.ci/run installs them)`)
if (missing.length > 0) console.log(`hostile traffic tests skipped: ${missing.join(', ')} not installed (apt-get install hping3 python3-scapy)`)

let device: TunDevice | undefined
let stack: Stack
let live: NetSocket
const internalErrors: unknown[] = []
/** The live connection's sequence numbers, from the segments the stack saw: its RCV.NXT and SND.NXT. */
const seqs = { rcvNxt: null as number | null, sndNxt: null as number | null, port: 0, tsval: undefined as number | undefined, tsecr: 0 }

/** Write packets built by craft.py straight onto the TUN device (the kernel side). */
async function craft(specs: object[]): Promise<number> {
  const r = await run(python!, [CRAFT, DEV], { input: JSON.stringify(specs), timeoutMs: 30_000 })
  if (r.code !== 0) throw new Error(`craft.py failed: ${r.stderr}`)
  return Number(r.stdout.toString().trim())
}

/** A fresh curl for the page: it must succeed. */
async function curlOk(): Promise<void> {
  const r = await runText('curl', ['-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', `http://${ADDR}/`])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  expect(r.stdout).toBe('200')
}

/** The live connection echoes a fresh token, and only that (nothing injected slipped in). */
let echoed = ''
async function liveEchoes(): Promise<void> {
  const token = `token-${Math.random().toString(36).slice(2)}\n`
  echoed = ''
  live.write(token)
  const end = Date.now() + 10_000
  while (echoed.length < token.length && Date.now() < end) await sleep(10)
  expect(echoed).toBe(token)
  await sleep(50) // let the ACKs settle, so the sequence numbers below are current
}

function delta(before: Record<string, number>, reason: string): number {
  return (stack.counters.drops[reason] ?? 0) - (before[reason] ?? 0)
}

/** Every drop counter that moved since `before`. */
function drops(before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(stack.counters.drops).map(r => [r, delta(before, r)]).filter(([, n]) => n !== 0))
}

describe.skipIf(missing.length > 0)('hostile traffic from the kernel side', () => {
  beforeAll(async () => {
    requireFreshNetns()
    device = TunDevice.open({ name: DEV, mtu: 1500 })
    configureKernelSide(DEV, `${KERNEL}/24`, 1500)
    // A long device queue, so a burst from the kernel side reaches the stack whole rather than
    // being dropped by the TUN queue (500 packets by default) before the stack can see it.
    execFileSync('ip', ['link', 'set', 'dev', DEV, 'txqueuelen', '20000'])
    stack = new Stack({ address: ADDR, link: device, mslMs: 1000 })
    stack.on('internal-error', (e: unknown) => internalErrors.push(e))
    serveAll(stack)
    // Follow the live connection's sequence numbers, for injection "in the window".
    stack.on('segment', (dir: 'in' | 'out', { seg }) => {
      const len = seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0)
      if (dir === 'in' && seg.dstPort === 7 && seg.srcPort === seqs.port) {
        if (seg.options.timestamp) seqs.tsval = seg.options.timestamp.value
        const end = seqAdd(seg.seq, len)
        if (len > 0 && (seqs.rcvNxt === null || seqGt(end, seqs.rcvNxt))) seqs.rcvNxt = end
      } else if (dir === 'out' && seg.srcPort === 7 && seg.dstPort === seqs.port) {
        if (seg.options.timestamp) seqs.tsecr = seg.options.timestamp.value
        const end = seqAdd(seg.seq, len)
        if (seqs.sndNxt === null || seqGt(end, seqs.sndNxt)) seqs.sndNxt = end
      }
    })
    live = await new Promise<NetSocket>((resolve, reject) => {
      const s = netConnect({ host: ADDR, port: 7 })
      s.once('connect', () => resolve(s))
      s.once('error', reject)
    })
    seqs.port = live.localPort!
    live.on('data', (c: Buffer) => { echoed += c.toString() })
    live.on('error', e => internalErrors.push(e))
    await liveEchoes()
    expect(seqs.rcvNxt).not.toBeNull()
    expect(seqs.sndNxt).not.toBeNull()
  })

  afterAll(async () => {
    live?.destroy()
    await stack?.shutdown(300)
    device?.close()
  })

  it('blind RST, SYN and data injection into a live connection: challenge ACKs, nothing taken (RFC 5961)', async () => {
    const before = { ...stack.counters.drops }
    const acksBefore = stack.counters.challengeAcksSent
    const { port, tsval, tsecr } = seqs
    const rcvNxt = seqs.rcvNxt!
    const sndNxt = seqs.sndNxt!
    // With timestamps negotiated, a segment without one is dropped first (PAWS, RFC 7323 3.2): an
    // attacker would copy the peer's current TSval, which PAWS accepts; so do we.
    const base = { kind: 'tcp', src: KERNEL, dst: ADDR, sport: port, dport: 7, tsval, tsecr }
    echoed = ''
    const sent = await craft([
      { ...base, flags: 'R', seq: rcvNxt + 1000 }, //          3.2: in the window, not RCV.NXT
      { ...base, flags: 'RA', seq: rcvNxt + 20_000, ack: sndNxt }, // 3.2 again, with an ACK
      { ...base, flags: 'S', seq: rcvNxt + 10 }, //            4.2: SYN in the window
      { ...base, flags: 'S', seq: rcvNxt + 2 ** 31 }, //       4.2: SYN anywhere
      { ...base, flags: 'PA', seq: rcvNxt, ack: sndNxt - 2 ** 30, data: 'INJECTED-OLD-ACK\n' }, // 5.2: ACK far too old
      { ...base, flags: 'PA', seq: rcvNxt, ack: sndNxt + 2 ** 20, data: 'INJECTED-UNSENT\n' }, //  5.2: ACK of unsent data
    ])
    expect(sent).toBe(6)
    await sleep(300)
    console.log('injection drops:', JSON.stringify(drops(before)))
    expect(delta(before, 'tcp-rst-not-exact')).toBe(2)
    expect(delta(before, 'tcp-syn-in-window')).toBe(1)
    expect(delta(before, 'tcp-syn-out-of-window')).toBe(1)
    expect(delta(before, 'tcp-ack-too-old')).toBe(1)
    expect(delta(before, 'tcp-ack-unsent')).toBe(1)
    expect(stack.counters.challengeAcksSent - acksBefore).toBe(6)
    expect(echoed).toBe('') // no injected text was echoed back
    await liveEchoes()
    await curlOk()
  })

  it('a SYN flood of 10,000 SYNs from spoofed sources: SYN cookies, and real clients still get in', async () => {
    const c = stack.counters
    const before = { segmentsIn: c.segmentsIn, cookies: c.synCookiesSent, passive: c.passiveOpens, accepted: c.synCookiesAccepted }
    const t0 = Date.now()
    // Ten spoofed hosts on the kernel's side of the subnet, 1,000 SYNs each from successive source ports.
    const floods = Array.from({ length: 10 }, (_, i) =>
      run('hping3', ['-q', '-S', '-p', '80', '-a', `10.66.0.${100 + i}`, '-s', String(10_000 + i * 1000), '-c', '1000', '-i', 'u100', ADDR], { timeoutMs: 40_000 }))
    // A real client while the flood runs.
    await sleep(200)
    const during = run('curl', ['-sS', '--max-time', '20', '-o', '/dev/null', '-w', '%{http_code}', `http://${ADDR}/`], { timeoutMs: 25_000 })
    const results = await Promise.all(floods)
    // hping3 exits 1 when it saw no answer addressed to the spoofed source; what matters is that it sent.
    for (const r of results) expect(r.stdout.toString() + r.stderr).toMatch(/1000 packets transmitted/)
    const floodMs = Date.now() - t0
    const curlDuring = await during
    expect(curlDuring.code, curlDuring.stderr).toBe(0)
    expect(curlDuring.stdout.toString()).toBe('200')
    await sleep(300)
    const synsIn = c.segmentsIn - before.segmentsIn
    const cookies = c.synCookiesSent - before.cookies
    const byState = stack.connectionsByState()
    console.log(`SYN flood: 10000 sent in ${floodMs} ms, ${synsIn} segments reached the stack, ` +
      `${cookies} SYN cookies sent, ${c.passiveOpens - before.passive} queued, ` +
      `cookie connections ${c.synCookiesAccepted - before.accepted}, now ${JSON.stringify(byState)}`)
    expect(synsIn).toBeGreaterThan(5000) // most of the flood reached the stack (the TUN queue may drop some)
    expect(cookies).toBeGreaterThan(synsIn - 300 - 50) // all but the SYN queue's 256 (and the real clients) got a cookie
    expect(byState['SYN-RECEIVED'] ?? 0).toBeLessThanOrEqual(256) // the SYN queue stayed bounded
    // The live connection and a fresh client, through cookies while the queue stays full.
    await liveEchoes()
    await curlOk()
    expect(c.synCookiesAccepted - before.accepted).toBeGreaterThanOrEqual(1)
  })

  it('garbage and truncated packets are dropped, each counted under its reason', async () => {
    const before = { ...stack.counters.drops }
    const ignoredNow = () => Object.values(stack.counters.ignored).reduce((a, b) => a + b, 0)
    const ignoredBefore = ignoredNow()
    const packetsBefore = stack.counters.packetsIn
    const g = (name: string) => ({ kind: 'garbage', name, src: KERNEL, dst: ADDR, dport: 7 })
    const cases: Array<[string, string]> = [
      ['ihl-too-small', 'ip-header-length'],
      ['ihl-past-end', 'ip-truncated'],
      ['ip-version-5', 'ip-version'],
      ['ip-bad-checksum', 'ip-checksum'],
      ['ip-total-length-past-end', 'ip-truncated'],
      ['ip-fragment', 'ip-fragment'],
      ['tcp-bad-checksum', 'tcp-checksum'],
      ['tcp-truncated', 'tcp-truncated'],
      ['tcp-data-offset-small', 'tcp-data-offset'],
      ['tcp-data-offset-past-end', 'tcp-data-offset'],
      ['tcp-bad-options', 'tcp-options'],
      ['icmp-truncated', 'icmp-truncated'],
      ['icmp-bad-checksum', 'icmp-checksum'],
      ['icmp-quote-truncated', 'icmp-quote'],
      ['xmas', 'tcp-listen-rst'],
    ]
    const sent = await craft([
      ...cases.map(([name]) => g(name)),
      { kind: 'random', seed: 5961, count: 500, src: KERNEL, dst: ADDR },
    ])
    await sleep(300)
    const want: Record<string, number> = {}
    for (const [, reason] of cases) want[reason] = (want[reason] ?? 0) + 1
    for (const [reason, n] of Object.entries(want)) expect(delta(before, reason), reason).toBeGreaterThanOrEqual(n)
    const arrived = stack.counters.packetsIn - packetsBefore
    const dropped = Object.keys(stack.counters.drops).reduce((n, r) => n + delta(before, r), 0)
    // A random packet whose version nibble is 6 is IPv6 to the stack: ignored and counted apart, not dropped.
    const ignored = ignoredNow() - ignoredBefore
    console.log(`garbage: ${sent} packets written, ${arrived} reached the stack, ${dropped} dropped: ${JSON.stringify(drops(before))}, ${ignored} ignored as IPv6`)
    // Every one of them dropped (or ignored) and counted, none taken (the live connection may add a segment or two).
    expect(arrived).toBeGreaterThanOrEqual(sent)
    expect(dropped + ignored).toBeGreaterThanOrEqual(sent)
    expect(arrived - dropped - ignored).toBeLessThanOrEqual(2)
    expect(internalErrors).toEqual([])
    await liveEchoes()
    await curlOk()
  })

  it('forged ICMP errors about the live connection are ignored unless they quote a sequence number in flight (RFC 5927)', async () => {
    const before = { ...stack.counters.drops }
    const soft = stack.counters.icmpSoftErrors
    const pmtu = stack.counters.pmtuReductions
    const { port } = seqs
    const sndNxt = seqs.sndNxt!
    const quote = (seq: number) => ({ kind: 'tcp', src: ADDR, dst: KERNEL, sport: 7, dport: port, seq, flags: 'PA' })
    const icmp = { kind: 'icmp-error', src: '10.66.0.254', dst: ADDR }
    await craft([
      { ...icmp, type: 3, code: 4, mtu: 576, quote: quote(sndNxt + 100_000) }, // frag needed, not in flight
      { ...icmp, type: 3, code: 1, quote: quote(sndNxt - 100_000) }, //          host unreachable, long acknowledged
      { ...icmp, type: 3, code: 3, quote: quote(sndNxt) }, //                    port unreachable, nothing in flight
      { ...icmp, type: 11, code: 0, quote: quote(sndNxt + 1) }, //               time exceeded
    ])
    await sleep(300)
    expect(delta(before, 'icmp-seq-not-in-flight')).toBe(4)
    expect(stack.counters.icmpSoftErrors).toBe(soft)
    expect(stack.counters.pmtuReductions).toBe(pmtu)
    await liveEchoes()
    await curlOk()
  })

  it('a duplicate of data it has: ACKed at once, and so are the next segments, not after 40 ms (quickAckOnDuplicate, as Linux tcp_send_dupack)', async () => {
    const sock = await new Promise<NetSocket>((resolve, reject) => {
      const s = netConnect({ host: ADDR, port: 9 })
      s.once('connect', () => resolve(s))
      s.once('error', reject)
    })
    sock.setNoDelay(true)
    const port = sock.localPort!
    // What the stack saw of this discard connection: the kernel's data and its TSval, our ACKs.
    // rcvNxt starts null, not 0: seqGt(x, 0) is false for half of all x (RFC 9293 3.4's modular order).
    const seen: { rcvNxt: number | null; sndNxt: number; tsval: number; tsecr: number; dataAt: number } = { rcvNxt: null, sndNxt: 0, tsval: 0, tsecr: 0, dataAt: 0 }
    const acks: { ack: number; at: number }[] = []
    const watch = (dir: 'in' | 'out', { seg }: { seg: { srcPort: number; dstPort: number; seq: number; ack: number; payload: Uint8Array; options: { timestamp?: { value: number } } } }) => {
      if (dir === 'in' && seg.dstPort === 9 && seg.srcPort === port) {
        if (seg.options.timestamp) seen.tsval = seg.options.timestamp.value
        if (seg.payload.length > 0 && (seen.rcvNxt === null || seqGt(seqAdd(seg.seq, seg.payload.length), seen.rcvNxt))) {
          seen.rcvNxt = seqAdd(seg.seq, seg.payload.length)
          seen.dataAt = performance.now()
        }
      } else if (dir === 'out' && seg.srcPort === 9 && seg.dstPort === port) {
        if (seg.options.timestamp) seen.tsecr = seg.options.timestamp.value
        seen.sndNxt = seg.seq
        acks.push({ ack: seg.ack, at: performance.now() })
      }
    }
    stack.on('segment', watch)
    /** Write one byte; how long after it arrived the stack ACKed it (ms). */
    const ackDelay = async (byte: string): Promise<number> => {
      sock.write(byte)
      const end = Date.now() + 2_000
      let ack: { at: number } | undefined
      while (ack === undefined && Date.now() < end) {
        await sleep(5)
        ack = acks.find(a => seen.rcvNxt !== null && a.ack === seen.rcvNxt && a.at >= seen.dataAt)
      }
      expect(ack).toBeDefined()
      return ack!.at - seen.dataAt
    }
    try {
      await sleep(100)
      const delayed = await ackDelay('a')
      expect(delayed).toBeGreaterThan(30) // one lone segment: the delayed ACK (40 ms, RFC 9293 3.8.6.3)
      const before = { ...stack.counters.drops }
      const acksBefore = acks.length
      // The kernel's 'a' again, as if our ACK had been lost: with its current TSval (PAWS).
      const sent = await craft([{ kind: 'tcp', src: KERNEL, dst: ADDR, sport: port, dport: 9, flags: 'PA',
        seq: seqAdd(seen.rcvNxt!, -1), ack: seen.sndNxt, data: 'a', tsval: seen.tsval, tsecr: seen.tsecr }])
      expect(sent).toBe(1)
      await sleep(100)
      expect(delta(before, 'tcp-unacceptable')).toBe(1)
      expect(acks.length).toBeGreaterThan(acksBefore) // answered at once (RFC 9293 3.10.7.4)
      const quick = [await ackDelay('b'), await ackDelay('c'), await ackDelay('d')]
      console.log(`quick ACKs: lone segment ACKed after ${delayed.toFixed(1)} ms; after the duplicate ${quick.map(d => d.toFixed(1)).join(', ')} ms`)
      for (const d of quick) expect(d).toBeLessThan(20)
    } finally {
      stack.off('segment', watch)
      sock.destroy()
    }
  })

  it('never threw: no internal errors in all of the above', () => {
    expect(internalErrors).toEqual([])
  })
})
