// Shell lines read as data: the sysctl table (sysctl.ts), the shell words and
// operators (shell.ts), defaults.sh from the file or the built-in values, and a
// refusal naming the command for anything else. Nothing here runs on the host.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_TCP_CONFIG, LINUX_PROFILE } from '../../../src/stack/tcp/config'
import { ScriptError } from '../../../src/testkit/script/errors'
import { interpretShell, mergeEffects, splitCommands, type ShellContext } from '../../../src/testkit/script/shell'
import { applySysctl, LINUX_DEFAULTS, SYSCTLS, sysctlInt } from '../../../src/testkit/script/sysctl'

const ctx = (extra: Partial<ShellContext> = {}): ShellContext => ({ line: 3, config: { ...DEFAULT_TCP_CONFIG }, restore: { patch: null }, ...extra })
const settings = (text: string, extra: Partial<ShellContext> = {}) => mergeEffects(interpretShell(text, ctx(extra)))
function refusal(text: string, extra: Partial<ShellContext> = {}): string {
  try {
    interpretShell(text, ctx(extra))
  } catch (e) {
    if (e instanceof ScriptError) return e.message
    throw e
  }
  throw new Error('accepted')
}

describe('the sysctl table', () => {
  it('maps what the stack has to its tunables, in its units', () => {
    expect(applySysctl('net.ipv4.tcp_timestamps', '0')).toEqual({ ok: true, patch: { timestamps: false } })
    expect(applySysctl('net.ipv4.tcp_sack', '1')).toEqual({ ok: true, patch: { sack: true } })
    expect(applySysctl('net.ipv4.tcp_window_scaling', '0')).toEqual({ ok: true, patch: { windowScaling: false } })
    expect(applySysctl('net.ipv4.tcp_rmem', '4096 540000 15728640')).toEqual({ ok: true, patch: { rcvBufSize: 540000, rcvBufMax: 15728640 } })
    expect(applySysctl('net.ipv4.tcp_wmem', ' 4096\t50000 4194304 ')).toEqual({ ok: true, patch: { sndBufSize: 50000 } })
    expect(applySysctl('net.ipv4.tcp_fin_timeout', '30')).toEqual({ ok: true, patch: { finWait2TimeoutMs: 30_000 } })
    expect(applySysctl('net.ipv4.tcp_keepalive_time', '600')).toEqual({ ok: true, patch: { keepaliveIdleMs: 600_000 } })
    expect(applySysctl('net.ipv4.tcp_congestion_control', 'reno')).toEqual({ ok: true, patch: { congestionControl: 'newreno' } })
    expect(applySysctl('net.ipv4.tcp_rto_min_us', '5000')).toEqual({ ok: true, patch: { minRtoMs: 5 } })
    expect(applySysctl('net/ipv4/tcp_syncookies', '0')).toEqual({ ok: true, patch: { synCookies: false } })
  })

  it('reads values in hex, as set_sysctls.py passes them', () => {
    expect(sysctlInt('0x207')).toBe(0x207)
    expect(sysctlInt('12')).toBe(12)
    expect(sysctlInt('1.5')).toBeNull()
  })

  it('accepts settings of what tuntcp lacks only as listed no-effects, saying why', () => {
    const r = applySysctl('net.ipv4.tcp_pacing_ss_ratio', '200')
    expect(r).toEqual({ ok: true, patch: {}, note: 'no effect in tuntcp: tuntcp does not pace' })
    for (const [name, entry] of Object.entries(SYSCTLS)) expect(entry.doc, name).not.toBe('')
  })

  it('says when a value is accepted but tuntcp behaves otherwise', () => {
    const r = applySysctl('net.ipv4.tcp_slow_start_after_idle', '0')
    expect(r.ok && r.note).toMatch(/^not honoured: tuntcp restarts slow start after idle/)
    expect(applySysctl('net.ipv4.tcp_slow_start_after_idle', '1')).toEqual({ ok: true, patch: {} })
  })

  it.each([
    ['net.ipv4.tcp_frobnicate', '1', "sysctl net.ipv4.tcp_frobnicate is not in tuntcp's table"],
    ['net.core.rmem_max', '1', "sysctl net.core.rmem_max is not in tuntcp's table"],
    ['net.ipv4.tcp_sack', '2', 'sysctl net.ipv4.tcp_sack=2: must be 0 or 1'],
    ['net.ipv4.tcp_rmem', '4096 8192', 'must be three byte counts'],
    ['net.ipv4.tcp_ecn', '3', 'sysctl net.ipv4.tcp_ecn=3: tuntcp has classic ECN (RFC 3168) only'],
    ['net.ipv4.tcp_reordering', '5', 'tuntcp only behaves as 3'],
    ['net.ipv4.tcp_syncookies', '2', 'only when the SYN queue is full'],
    ['net.ipv4.tcp_congestion_control', 'bbr', 'tuntcp has cubic and reno'],
    ['net.ipv4.tcp_fastopen', '0x8', 'bits 0x8 are not among the ones tuntcp knows'],
    ['net.ipv4.tcp_fastopen_key', 'a1a1a1a1-b2b2b2b2', 'must be a key of four groups of 8 hex digits'],
    ['net.ipv4.tcp_fastopen_key', 'a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4,', 'must be a key of four groups of 8 hex digits'],
    ['net.ipv4.tcp_synack_retries', '3', 'tuntcp retransmits SYN,ACKs as often as SYNs (tcp_syn_retries, now 6)'],
  ])('refuses %s=%s', (name, value, reason) => {
    const r = applySysctl(name, value)
    expect(r.ok).toBe(false)
    expect(!r.ok && r.reason).toContain(reason)
  })

  it('maps tcp_fastopen bits onto fastOpen, and the key onto fastOpenKey (Linux ip-sysctl)', () => {
    expect(applySysctl('net.ipv4.tcp_fastopen', '0x70403')).toEqual({
      ok: true, patch: { fastOpen: { client: true, server: true, clientNoCookie: false, serverNoCookie: false, serverAllListeners: true } },
    })
    expect(applySysctl('net.ipv4.tcp_fastopen', '0x207')).toEqual({
      ok: true, patch: { fastOpen: { client: true, server: true, clientNoCookie: true, serverNoCookie: true, serverAllListeners: false } },
    })
    expect(applySysctl('net.ipv4.tcp_fastopen_key', 'A0BF63F7-ed803d81-cd641d30-cebc4a90')).toEqual({ ok: true, patch: { fastOpenKey: 'a0bf63f7-ed803d81-cd641d30-cebc4a90' } })
    const two = 'a0bf63f7-ed803d81-cd641d30-cebc4a90,a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4'
    expect(applySysctl('net.ipv4.tcp_fastopen_key', two)).toEqual({ ok: true, patch: { fastOpenKey: two } })
  })

  it('is documented row by row in docs/scripts.md', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/scripts.md'), 'utf8')
    for (const [name, entry] of Object.entries(SYSCTLS)) expect(doc, name).toContain(`| \`${name}\` | ${entry.doc.replace(/\|/g, '\\|')} |`)
  })

  it('knows every value of its own copy of defaults.sh', () => {
    let config = { ...DEFAULT_TCP_CONFIG }
    for (const [name, value] of LINUX_DEFAULTS) {
      const r = applySysctl(name, value, config)
      expect(r.ok, `${name}=${value}`).toBe(true)
      if (r.ok) config = { ...config, ...r.patch }
    }
    expect(config).toMatchObject({ rcvBufSize: 540_000, sndBufSize: 262_144, synRetries: 5, timestamps: true, sack: true, synCookies: true })
  })
})

describe('shell words', () => {
  it('splits on ; && || and newlines, with continued lines and comments', () => {
    const cmds = splitCommands('a 1; b "2 3" && c \\\n  4 # comment\nd || e')
    expect(cmds.map(c => [c.argv, c.offset, c.join])).toEqual([
      [['a', '1'], 0, ';'], [['b', '2 3'], 0, ';'], [['c', '4'], 0, '&&'], [['d'], 2, ';'], [['e'], 2, '||'],
    ])
  })

  it("computes $((arithmetic)) and takes 'single' quotes as written", () => {
    expect(splitCommands('x "4096 $((15*1024*1024))" \'$((1))\' $(( (2+3)%4 ))')[0]!.argv).toEqual(['x', '4096 15728640', '$((1))', '1'])
  })

  it('ignores redirections to /dev/null and refuses others', () => {
    expect(splitCommands('sysctl -q a=1 > /dev/null 2>&1')[0]!.argv).toEqual(['sysctl', '-q', 'a=1'])
    expect(splitCommands('ip x &> /dev/null')[0]!.argv).toEqual(['ip', 'x'])
    expect(() => splitCommands('echo 1 > /proc/sys/net/ipv4/tcp_sack')).toThrow('the redirection >/proc/sys/net/ipv4/tcp_sack (only to /dev/null)')
    expect(() => splitCommands('sleep 1 &')).toThrow('a background job')
    expect(() => splitCommands('echo $HOME')).toThrow('the expansion $HOME')
  })
})

describe('shell lines', () => {
  it('applies sysctl and set_sysctls.py settings, later ones winning', () => {
    expect(settings('sysctl -q net.ipv4.tcp_sack=0 net.ipv4.tcp_timestamps=0\nsysctl -qw net.ipv4.tcp_sack=1')).toEqual({ sack: true, timestamps: false })
    expect(settings('../common/set_sysctls.py /proc/sys/net/ipv4/tcp_timestamps=0 \\\n  /proc/sys/net/ipv4/tcp_wmem="4096 50000 4194304"')).toEqual({ timestamps: false, sndBufSize: 50_000 })
  })

  it('restores what set_sysctls.py changed with the restore script it wrote', () => {
    const restore = { patch: null }
    interpretShell('../common/set_sysctls.py /proc/sys/net/ipv4/tcp_timestamps=0', ctx({ restore }))
    expect(mergeEffects(interpretShell('/tmp/sysctl_restore_${PPID}.sh', ctx({ restore })))).toEqual({ timestamps: true })
    expect(refusal('/tmp/sysctl_restore_${PPID}.sh')).toContain('no set_sysctls.py ran before it')
  })

  it('reads defaults.sh from the script directory, as data', () => {
    const files: Record<string, string> = {
      '/s/common/defaults.sh': '#!/bin/bash\n# comment\nip tcp_metrics flush all > /dev/null 2>&1\nsysctl -q net.ipv4.tcp_rmem="4096 87380 $((6*1024*1024))"\ntc qdisc add dev tun0 root pfifo\n',
    }
    const readFile = (p: string) => files[p] ?? null
    // The Linux profile first (defaults.sh says the script was written for Linux), then the file's settings.
    expect(settings('../common/defaults.sh', { scriptDir: '/s/tcp', readFile })).toEqual({ ...LINUX_PROFILE, rcvBufSize: 87_380, rcvBufMax: 6 * 1024 * 1024 })
    files['/s/common/defaults.sh'] += 'sysctl -q net.ipv4.tcp_frob=1\n'
    expect(refusal('../common/defaults.sh', { scriptDir: '/s/tcp', readFile })).toBe("line 3: ../common/defaults.sh line 6: unsupported: sysctl net.ipv4.tcp_frob is not in tuntcp's table (docs/scripts.md, \"Shell lines\")")
  })

  it('uses its built-in copy of the values when defaults.sh is not there', () => {
    expect(settings('../../common/defaults.sh', { scriptDir: '/nowhere', readFile: () => null })).toMatchObject({ rcvBufSize: 540_000, rcvBufMax: 15_728_640, synRetries: 5, quickAck: true, pushBursts: true })
  })

  it('reads nstat as data: the history updated, or one counter checked as grep would (nstat.ts)', () => {
    const effects = (text: string) => interpretShell(text, ctx()).map(e => e.nstat)
    expect(effects('nstat > /dev/null')).toEqual([{ kind: 'update' }])
    expect(effects('nstat -n')).toEqual([{ kind: 'update' }])
    expect(effects('nstat | grep TcpExtOutOfWindowIcmps > /dev/null')).toEqual([{ kind: 'check', counter: 'TcpExtOutOfWindowIcmps', absolute: false }])
    expect(effects('nstat -a | grep -q -w TcpOutRsts')).toEqual([{ kind: 'check', counter: 'TcpOutRsts', absolute: true }])
  })

  it('does not run the alternative of || when the first command is accepted', () => {
    expect(settings('sysctl -q net.ipv4.tcp_sack=0 || rm -rf /')).toEqual({ sack: false })
    expect(settings('sysctl -q net.ipv4.tcp_sack=0 &> /dev/null ||\n   rm -rf /\nsysctl -q net.ipv4.tcp_sack=1')).toEqual({ sack: true })
  })

  it.each([
    ['grep " 0A " /proc/net/tcp | grep ":1F90"', 'line 3: unsupported: shell command grep in a pipe'],
    ['nstat -z', 'line 3: unsupported: nstat option -z (only -a and -n)'],
    ['nstat | grep TcpExtTCPSACKReneging', 'line 3: unsupported: nstat counter TcpExtTCPSACKReneging: tuntcp does not keep it (it keeps TcpActiveOpens'],
    ['nstat | awk /x/', 'line 3: unsupported: a pipe into awk (only nstat | grep NAME)'],
    ['nstat | grep -c TcpOutRsts', 'line 3: unsupported: grep -c TcpOutRsts (only grep [-q] [-w] NAME)'],
    ['nstat | grep TcpOutRsts | wc -l', 'line 3: unsupported: a pipe of more than nstat | grep'],
    ['nstat | grep TcpOutRsts || true', 'line 3: unsupported: || after nstat | grep'],
    ['nstat -n | grep TcpOutRsts', 'line 3: unsupported: nstat -n prints nothing for grep to find'],
    ['sysctl -q net.ipv4.tcp_sack=0\ntc qdisc replace dev tun0 root fq', 'line 4: unsupported: shell command tc (`tc qdisc replace dev tun0 root fq`)'],
    ['ethtool -K tun0 tso on', 'line 3: unsupported: shell command ethtool'],
    ['sysctl net.ipv4.tcp_sack', 'line 3: unsupported: sysctl net.ipv4.tcp_sack reads a value'],
    ['/etc/common/defaults.sh', 'line 3: unsupported: shell command /etc/common/defaults.sh'],
  ])('refuses %j naming it', (text, message) => {
    expect(refusal(text)).toContain(message)
  })
})
