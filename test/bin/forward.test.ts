// tuntcp forward's command line: each mistake one clear line and a non-zero exit, before
// anything is made (no device, no namespace touched). The forwarding itself: test/forward/
// (in memory) and test/kernel/forward.test.ts (real programs in namespaces).
import { describe, expect, it, vi } from 'vitest'
import { main } from '../../src/bin/main'

async function tuntcp(argv: string[]): Promise<{ code: number; err: string; out: string }> {
  const err = vi.spyOn(console, 'error').mockImplementation(() => {})
  const out = vi.spyOn(console, 'log').mockImplementation(() => {})
  try {
    const code = await main(argv)
    return { code, err: err.mock.calls.map(c => c.join(' ')).join('\n'), out: out.mock.calls.map(c => c.join(' ')).join('\n') }
  } finally {
    err.mockRestore()
    out.mockRestore()
  }
}

describe('tuntcp forward: bad flags', () => {
  it.each([
    [[], /^tuntcp: forward needs --netns NAME/],
    [['--netns', '../etc'], /^tuntcp: --netns must be a name of ip netns, not "\.\.\/etc"$/],
    [['--netns', 'x', '--socks5', 'localhost:1080'], /^tuntcp: --socks5 must be an address and port like 127\.0\.0\.1:1080 or \[::1\]:1080/],
    [['--netns', 'x', '--socks5', '::1:1080'], /^tuntcp: --socks5 must be/],
    [['--netns', 'x', '--socks5', '[::g]:1080'], /^tuntcp: --socks5 must be/],
    [['--netns', 'x', '--socks5', '127.0.0.1:70000'], /^tuntcp: --socks5 must be/],
    [['--netns', 'x', '--max-connections', '0'], /^tuntcp: --max-connections must be a whole number from 1 to 1000000, not "0"$/],
    [['--netns', 'x', '--max-flows', '1.5'], /^tuntcp: --max-flows must be a whole number/],
    [['--netns', 'x', '--udp-idle', '0'], /^tuntcp: --udp-idle must be a number of seconds from 1 to 86400, not "0"$/],
    [['--netns', 'x', '--addr', '10.0.2.100'], /^tuntcp: --addr 10\.0\.2\.100 is the namespace side's address/],
    [['--netns', 'x', '--addr', '10.0.2.2', '--addr', 'fd00:0::100'], /^tuntcp: --addr fd00::100 is the namespace side's address/],
    [['--netns', 'x', '--addr', 'fd00::2'], /^tuntcp: --addr needs an IPv4 address too \(like 10\.0\.2\.2\)/],
    [['--netns', 'x', '--addr', '10.0.2.2', '--kernel-addr', 'fd00::100/64'], /^tuntcp: --kernel-addr fd00::100\/64 is IPv6, but the stack has no IPv6 address/],
    [['--netns', 'x', '--mtu', '1200'], /^tuntcp: --mtu 1200 is below 1280, too small for IPv6/],
    [['--netns', 'x', 'extra'], /^tuntcp: forward takes no arguments, got "extra"$/],
    [['--netns', 'x', '--bogus'], /^tuntcp: Unknown option '--bogus'$/],
  ])('%j: one line, exit 2', async (argv, message) => {
    const r = await tuntcp(['forward', ...argv])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(message)
    expect(r.err.split('\n')).toHaveLength(1)
  })

  it('a namespace that does not exist: one line naming it, exit 1 (or the root line when not root)', async () => {
    const r = await tuntcp(['forward', '--netns', `no-such-ns-${process.pid}`])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(process.getuid?.() === 0
      ? new RegExp(`^tuntcp: no network namespace named no-such-ns-${process.pid} \\(/run/netns/no-such-ns-${process.pid}\\): make one with ip netns add`)
      : /^tuntcp: forward needs root/)
  })

  it.each([
    [['--socks5', '[::1]:1080']],
    [['--addr', '10.0.2.2', '--mtu', '1200']],
    [['--addr', '10.9.0.2', '--addr', 'fd09::2', '--kernel-addr', '10.9.0.1/24', '--kernel-addr', 'fd09::1/64']],
  ])('%j is good: it gets past the flags to the root or namespace check (exit 1)', async argv => {
    const r = await tuntcp(['forward', '--netns', `no-such-ns-${process.pid}`, ...argv])
    expect(r.code, r.err).toBe(1)
    expect(r.err).toMatch(/^tuntcp: (no network namespace named|forward needs root)/)
  })

  it('help forward prints the usage on stdout', async () => {
    const r = await tuntcp(['help', 'forward'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^usage: tuntcp forward --netns NAME \[--socks5 HOST:PORT\]/)
    expect(r.out).toContain('--max-connections N')
  })
})
