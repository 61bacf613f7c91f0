// The command line: defaults, and one clear line (exit status 2) for each mistake.
import { describe, expect, it, vi } from 'vitest'
import { DEVICE_OPTIONS, deviceArgs, parse, port, SERVE_OPTIONS, UsageError, workers } from '../../src/bin/args'
import { main } from '../../src/bin/main'

const device = (argv: string[]) => deviceArgs(parse(argv, DEVICE_OPTIONS, true).values)

describe('device options', () => {
  it('has the defaults of PRODUCT.md', () => {
    expect(device([])).toEqual({
      dev: 'tuntcp0', addr: '10.77.0.2', addr6: 'fd77::2', kernelAddr: undefined, kernelAddr6: undefined, mtu: 1500, mslMs: 30_000,
      trace: false, traceJson: undefined, pcap: undefined, offload: true, help: false,
    })
  })

  it('takes every flag', () => {
    expect(device(['--dev', 'tun9', '--addr', '10.9.0.2', '--kernel-addr', '10.9.0.1/16', '--mtu', '9000', '--msl', '0.5', '--trace', '--trace-json', 't.jsonl', '--pcap', 'x.pcap', '--no-offload'])).toEqual({
      dev: 'tun9', addr: '10.9.0.2', addr6: undefined, kernelAddr: '10.9.0.1/16', kernelAddr6: undefined, mtu: 9000, mslMs: 500, trace: true, traceJson: 't.jsonl', pcap: 'x.pcap', offload: false, help: false,
    })
  })

  it('takes --addr and --kernel-addr once per family, in any order; an --addr given replaces both defaults', () => {
    expect(device(['--addr', 'FD79:0::2', '--kernel-addr', 'fd79::1/64', '--addr', '10.79.0.2', '--kernel-addr', '10.79.0.1/24']))
      .toMatchObject({ addr: '10.79.0.2', addr6: 'fd79::2', kernelAddr: '10.79.0.1/24', kernelAddr6: 'fd79::1/64' })
    expect(device(['--addr', '10.79.0.2'])).toMatchObject({ addr: '10.79.0.2', addr6: undefined })
    expect(device(['--kernel-addr', 'fd77::1/64'])).toMatchObject({ addr: '10.77.0.2', addr6: 'fd77::2', kernelAddr: undefined, kernelAddr6: 'fd77::1/64' })
  })

  it.each([
    [['--addr', '10.0.0'], /--addr must be an IPv4 address like 10.77.0.2 or an IPv6 one like fd77::2/],
    [['--addr', 'fd77::2'], /^--addr needs an IPv4 address too/],
    [['--addr', '10.0.0.2', '--addr', '10.0.0.3'], /^--addr given two IPv4 addresses/],
    [['--addr', '10.0.0.2', '--addr', 'fd::2', '--addr', 'fd::3'], /^--addr given two IPv6 addresses/],
    [['--addr', '10.0.0.2', '--kernel-addr', 'fd::1/64'], /^--kernel-addr fd::1\/64 is IPv6, but the stack has no IPv6 address/],
    [['--kernel-addr', '10.0.0.1/24', '--kernel-addr', '10.0.1.1/24'], /^--kernel-addr given two IPv4 addresses/],
    [['--kernel-addr', 'fd::1/129'], /--kernel-addr must look like 10.77.0.1\/24 or fd77::1\/64/],
    [['--mtu', '1000'], /^--mtu 1000 is below 1280, too small for IPv6/],
    [['--kernel-addr', '10.0.0.1'], /--kernel-addr must look like 10.77.0.1\/24/],
    [['--mtu', '67'], /--mtu must be a number from 68 to 65535/],
    [['--mtu', 'big'], /--mtu must be a number/],
    [['--msl=-1'], /--msl must be a number/],
    [['--msl', '-1'], /^--msl must be a number from 0\.001 to 3600, not "-1"$/],
    [['--mtu', '-.5'], /^--mtu must be a number from 68 to 65535, not "-\.5"$/],
    [['--dev', '-x'], /^--dev needs a value; to give one starting with '-', write --dev=-VALUE$/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['--mtu'], /argument missing/],
  ])('rejects %j in one line', (argv, message) => {
    expect(() => device(argv)).toThrow(UsageError)
    expect(() => device(argv)).toThrow(message)
    expect(() => device(argv)).not.toThrow(/\n/)
  })

  it('gives every command one line for a flag missing its value, or a negative number given as a flag', () => {
    const options = { verbose: { type: 'boolean', short: 'v' }, count: { type: 'string', short: 'c' } } as const
    expect(parse(['-c', '-3'], options, true).values.count).toBe('-3') // short flags too
    expect(parse(['--', '--count', '-3'], options, true).positionals).toEqual(['--count', '-3']) // after --, nothing is a flag
    for (const argv of [['--count'], ['--count', '-x'], ['-v', '-3'], ['--verbose=yes'], ['--nope']]) {
      expect(() => parse(argv, options, true)).toThrow(UsageError)
      expect(() => parse(argv, options, true)).not.toThrow(/\n|\.$/)
    }
  })

  it('takes --workers for serve: 1 by default, a whole number from 1 to 64', () => {
    expect(workers(parse([], SERVE_OPTIONS, true).values.workers)).toBe(1)
    expect(workers(parse(['--workers', '2'], SERVE_OPTIONS, true).values.workers)).toBe(2)
    expect(workers('64')).toBe(64)
    for (const bad of ['0', 'abc', '1.5', '-1', '65', '']) {
      expect(() => workers(bad)).toThrow(UsageError)
      expect(() => workers(bad)).toThrow(`--workers must be a whole number from 1 to 64, not ${JSON.stringify(bad)}`)
    }
    // The device options still parse alone, as connect uses them.
    expect(() => parse(['--workers', '2'], DEVICE_OPTIONS, true)).toThrow(/Unknown option '--workers'/)
  })

  it('checks ports', () => {
    expect(port('80')).toBe(80)
    expect(() => port('0')).toThrow(/PORT must be from 1 to 65535/)
    expect(() => port('http')).toThrow(UsageError)
    expect(() => port(undefined)).toThrow(/missing PORT/)
  })
})

describe('main', () => {
  async function run(argv: string[]) {
    const out: string[] = []
    const err: string[] = []
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')) })
    const error = vi.spyOn(console, 'error').mockImplementation((...a) => { err.push(a.join(' ')) })
    try {
      return { code: await main(argv), out: out.join('\n'), err: err.join('\n') }
    } finally {
      log.mockRestore()
      error.mockRestore()
    }
  }

  it('prints usage on stderr and exits 2 without a command; on stdout with 0 when asked for help', async () => {
    expect(await run([])).toMatchObject({ code: 2, out: '', err: expect.stringContaining('usage: tuntcp COMMAND') })
    for (const asked of [['help'], ['--help'], ['-h']]) {
      expect(await run(asked)).toMatchObject({ code: 0, err: '', out: expect.stringContaining('usage: tuntcp COMMAND') })
    }
    expect((await run(['help'])).out).toMatch(/^ {2}-V, --version +print the version$/m)
    expect(await run(['help', 'serve'])).toMatchObject({ code: 0, out: expect.stringContaining('--kernel-addr') })
    expect(await run(['serve', '--help'])).toMatchObject({ code: 0, out: expect.stringContaining('--msl SECONDS') })
  })

  it('exits 2 with one line for an unknown command or a bad flag, before touching any device', async () => {
    const unknown = await run(['frob'])
    expect(unknown).toMatchObject({ code: 2, err: 'tuntcp: unknown command "frob" (try: tuntcp help)' })
    const badMtu = await run(['serve', '--mtu', '5'])
    expect(badMtu).toMatchObject({ code: 2, err: 'tuntcp: --mtu must be a number from 68 to 65535, not "5"' })
    const badHost = await run(['connect', 'example.com', '80'])
    expect(badHost).toMatchObject({ code: 2, err: 'tuntcp: HOST must be an IPv4 or IPv6 address, not "example.com"' })
    const noV6 = await run(['connect', 'fd77::1', '80', '--addr', '10.77.0.2'])
    expect(noV6).toMatchObject({ code: 2, err: 'tuntcp: HOST fd77::1 is IPv6, but the stack has no IPv6 address: add one with --addr' })
    const noPort = await run(['connect', '10.77.0.1'])
    expect(noPort).toMatchObject({ code: 2, err: 'tuntcp: missing PORT' })
    const noWorkers = await run(['serve', '--workers', '0'])
    expect(noWorkers).toMatchObject({ code: 2, err: 'tuntcp: --workers must be a whole number from 1 to 64, not "0"' })
    const pcapWorkers = await run(['serve', '--workers', '2', '--pcap', 'x.pcap'])
    expect(pcapWorkers).toMatchObject({ code: 2, err: expect.stringContaining('--pcap works with one worker only') })
    const jsonWorkers = await run(['serve', '--workers', '2', '--trace-json', 'x.jsonl'])
    expect(jsonWorkers).toMatchObject({ code: 2, err: expect.stringContaining('--trace-json works with one worker only') })
    const sameAddr = await run(['serve', '--addr', '10.77.0.1'])
    expect(sameAddr).toMatchObject({ code: 2, err: expect.stringContaining("is the kernel side's address") })
    const sameAddr6 = await run(['serve', '--addr', '10.77.0.2', '--addr', 'fd77::1'])
    expect(sameAddr6).toMatchObject({ code: 2, err: "tuntcp: --addr fd77::1 is the kernel side's address: the stack needs an address of its own" })
  })

  it('exits 2 with one line for help about a command that does not exist', async () => {
    for (const name of ['frob', 'constructor']) {
      expect(await run(['help', name])).toEqual({
        code: 2, out: '', err: `tuntcp: no command "${name}" to help with; the commands: serve, connect, forward, ss, demo, script, plot`,
      })
    }
  })

  it('prints the version for -V and --version', async () => {
    expect(await run(['--version'])).toMatchObject({ code: 0, out: expect.stringMatching(/^\d+\.\d+\.\d+$/) })
    expect(await run(['-V'])).toEqual(await run(['--version']))
  })

  it('says a negative number for a numeric flag is out of range, in one line', async () => {
    expect(await run(['serve', '--msl', '-1'])).toEqual({ code: 2, out: '', err: 'tuntcp: --msl must be a number from 0.001 to 3600, not "-1"' })
    expect(await run(['serve', '--workers', '-2'])).toEqual({ code: 2, out: '', err: 'tuntcp: --workers must be a whole number from 1 to 64, not "-2"' })
  })
})
