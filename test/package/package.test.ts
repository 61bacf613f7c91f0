// The package as a user gets it: pack the tarball, install it into a fresh project, import
// it with plain `node` (no TypeScript loader), type-check a strict NodeNext consumer, and
// install again with no compiler on PATH (everything but TunDevice still works).

import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docExamples } from '../helpers/doc-examples'

const root = resolve(import.meta.dirname, '../..')
const work = mkdtempSync(join(tmpdir(), 'tuntcp-package-'))
let tarball = ''

/** node-gyp needs Node's headers; offline, only the system's copy can give them. */
const nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined)
const npmEnv = { ...process.env, npm_config_nodedir: nodedir, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = npmEnv) {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 120_000 })
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` }
}

/**
 * Our runtime dependencies (and theirs) at the versions package-lock.json pins, as the fresh
 * project's overrides: the install then fetches nothing the registry published since (a new
 * release whose own dependencies the registry lacks broke an unpinned install once).
 */
function pinnedRuntime(): Record<string, string> {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dev?: boolean }> }
  const pins: Record<string, string> = {}
  for (const [path, entry] of Object.entries(lock.packages)) {
    const name = path.slice('node_modules/'.length)
    // Top-level entries only: a nested copy (a/node_modules/b) is a's business.
    if (path.startsWith('node_modules/') && !name.includes('node_modules/') && entry.dev !== true && entry.version !== undefined) pins[name] = entry.version
  }
  return pins
}

/** A fresh project with the packed tarball (and `more` packages, from npm's cache) installed; `env` is the installing npm's. */
function project(name: string, env: NodeJS.ProcessEnv = npmEnv, more: string[] = []): { dir: string; install: string } {
  const dir = join(work, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module', overrides: pinnedRuntime() }))
  // --foreground-scripts: show our install script's line (npm hides a dependency's script output).
  // --prefer-offline: from npm's cache where it has the packages (npm ci filled it with their
  // tarballs), from the registry for what it lacks (a package's metadata, which npm ci never fetches).
  const r = run('npm', ['install', '--prefer-offline', '--foreground-scripts', tarball, ...more], dir, env)
  expect(r.status, r.out).toBe(0)
  return { dir, install: r.out }
}

const ECHO = `
import { Stack, linkPair } from 'tuntcp'
const [linkA, linkB] = linkPair()
const a = new Stack({ address: '10.0.0.1', link: linkA })
const b = new Stack({ address: '10.0.0.2', link: linkB })
b.createServer(sock => sock.pipe(sock)).listen(7)
const sock = a.connect({ host: '10.0.0.2', port: 7 })
const got = []
sock.on('data', c => got.push(c))
sock.on('end', () => { console.log('echoed', Buffer.concat(got).toString()); process.exit(0) })
sock.end('hello over tuntcp')
setTimeout(() => { console.log('timed out in', sock.state); process.exit(1) }, 5000)
`

const TUN_WITHOUT_ADDON = `
import { TunDevice } from 'tuntcp'
try { TunDevice.open({ name: 'tuntcp-pkg0' }); console.log('opened?') } catch (e) { console.log(e.code, e.message) }
`

const TYPED = `
import { Stack, linkPair, VirtualClock, type Socket, type ConnectionInfo, type State } from 'tuntcp'
const clock = new VirtualClock()
const [l1, l2] = linkPair()
const a = new Stack({ address: '10.0.0.1', link: l1, clock })
new Stack({ address: '10.0.0.2', link: l2, clock }).createServer((s: Socket) => s.pipe(s)).listen(7)
const sock: Socket = a.connect({ host: '10.0.0.2', port: 7 })
const state: State = sock.state
const rows: ConnectionInfo[] = a.connections()
console.log(state, rows.length)
`

/** A PATH like ours without make or a C/C++ compiler: links to every other program. */
function pathWithoutCompilers(): string {
  const bin = join(work, 'no-compiler-bin')
  mkdirSync(bin)
  const hidden = /^(make|gmake|cc|c\+\+|gcc|g\+\+|clang|clang\+\+|cpp)(-[\d.]+)?$|-linux-gnu-(gcc|g\+\+|cc)/
  const seen = new Set<string>()
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || !existsSync(dir)) continue
    for (const name of readdirSync(dir)) {
      if (seen.has(name) || hidden.test(name)) continue
      seen.add(name)
      symlinkSync(join(dir, name), join(bin, name))
    }
  }
  return bin
}

beforeAll(() => {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'pipe' })
  // --ignore-scripts: dist/ was just built; prepare would build it again.
  const name = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' }).trim()
  tarball = join(work, name.split('\n').pop()!)
}, 120_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('the packed tarball', () => {
  it('carries dist with types, the native source, LICENSE; no tests, fuzz corpus or bench', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').map(f => f.replace(/^package\//, ''))
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/bin/main.js', 'bin/tuntcp.mjs',
      'binding.gyp', 'src/tun/native/tun.c', 'scripts/install-native.mjs', 'LICENSE', 'README.md', 'package.json']) {
      expect(files).toContain(f)
    }
    expect(files.filter(f => /^(test|fuzz|bench|tools)\//.test(f) || f.endsWith('.test.ts'))).toEqual([])
  })
})

describe('installed into a fresh project', () => {
  let dir = ''
  // undici, as the repository pins it, for the undici example of docs/api.md.
  const undici = `undici@${JSON.parse(readFileSync(join(root, 'node_modules/undici/package.json'), 'utf8')).version}`
  beforeAll(() => { ({ dir } = project('with-compiler', npmEnv, [undici])) }, 180_000)

  it('imports with plain node and echoes over linkPair()', () => {
    writeFileSync(join(dir, 'echo.mjs'), ECHO)
    const r = run(process.execPath, ['echo.mjs'], dir)
    expect(r.out.trim()).toBe('echoed hello over tuntcp')
    expect(r.status).toBe(0)
  })

  it('runs the tuntcp command from compiled JavaScript, with no TypeScript loader installed', () => {
    expect(existsSync(join(dir, 'node_modules/tsx'))).toBe(false)
    const r = run(join(dir, 'node_modules/.bin/tuntcp'), ['--version'], dir)
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+$/)
    expect(r.status).toBe(0)
  })

  it('type-checks a strict consumer with module nodenext', () => {
    writeFileSync(join(dir, 'typed.ts'), TYPED)
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true,
        types: ['node'], typeRoots: [join(root, 'node_modules/@types')],
      },
      files: ['typed.ts'],
    }))
    const r = run(join(root, 'node_modules/.bin/tsc'), ['-p', '.'], dir)
    expect(r.out).toBe('')
    expect(r.status).toBe(0)
  })

  // What each example of the docs prints, in part (all must exit 0 with nothing on stderr).
  const EXPECT: Record<string, RegExp> = {
    'two-stacks': /^connected from port \d+\nechoed: hello over tuntcp\nclosed, last state (TIME-WAIT|CLOSED)$/,
    'states': /ESTABLISHED -> FIN-WAIT-1 {2}\(CLOSE\)[\s\S]*bye[\s\S]*FIN-WAIT-2 -> TIME-WAIT {2}\(FIN received\)/,
    'http-request': /^200 100000 100000$/,
    'undici-fetch': /^200 true$/,
    'ephemeral-port': /^listening on an ephemeral port: true\nyou are 10\.0\.0\.1:\d+$/,
    'virtual-time': /^after our FIN: \[ 'TIME-WAIT' \]\nafter 2 MSL: \[\]$/,
    'faulty-link': /^the server got 1048576 bytes; lost on the way: true$/,
    'simulation': /^echoed 200000 bytes by \d+(\.\d+)? ms of virtual time; retransmissions: true$/,
    'udp-echo': /^echoed by 10\.0\.0\.2:7: hello over udp\nport 9: recvmsg ECONNREFUSED$/,
    'udp-any-destination': /^new flow 10\.0\.0\.1:40000 -> 192\.0\.2\.53:53\nfrom 192\.0\.2\.53:53: no answers here for example\.com\?$/,
    'tcp-any-destination': /^SYN from 10\.0\.0\.1 to 192\.0\.2\.80:25\nSYN from 10\.0\.0\.1 to 192\.0\.2\.80:80\nport 25: ECONNREFUSED\nhello from 192\.0\.2\.80:80$/,
  }
  for (const example of docExamples().filter(e => !e.root)) {
    it(`runs the ${example.name} example of ${example.doc} as written`, () => {
      writeFileSync(join(dir, `${example.name}.mjs`), example.code)
      const r = spawnSync(process.execPath, [`${example.name}.mjs`], { cwd: dir, encoding: 'utf8', timeout: 30_000 })
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
      expect(r.stdout.trim()).toMatch(EXPECT[example.name] ?? /[^]*/)
    }, 40_000)
  }
  it('knows what every example prints', () => {
    expect(docExamples().filter(e => !e.root).map(e => e.name).sort()).toEqual(Object.keys(EXPECT).sort())
  })

  // Where this checkout could build it (compiler and headers here), the install must too.
  it.runIf(existsSync(join(root, 'build/Release/tuntcp_tun.node')))('builds the native TUN binding where a compiler exists', () => {
    expect(existsSync(join(dir, 'node_modules/tuntcp/build/Release/tuntcp_tun.node'))).toBe(true)
  })
})

describe('installed with make and cc absent from PATH', () => {
  let dir = ''
  let install = ''
  beforeAll(() => {
    ({ dir, install } = project('without-compiler', { ...npmEnv, PATH: pathWithoutCompilers() }))
  }, 180_000)

  it('succeeds and says in one line that the TUN binding was not built and how to build it later', () => {
    const lines = install.split('\n').filter(l => l.startsWith('tuntcp:'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/native TUN binding was not built .*npm rebuild tuntcp/)
    expect(existsSync(join(dir, 'node_modules/tuntcp/build/Release/tuntcp_tun.node'))).toBe(false)
  })

  it('still runs the in-memory stack', () => {
    writeFileSync(join(dir, 'echo.mjs'), ECHO)
    const r = run(process.execPath, ['echo.mjs'], dir)
    expect(r.out.trim()).toBe('echoed hello over tuntcp')
  })

  it('TunDevice.open fails with the same advice', () => {
    writeFileSync(join(dir, 'tun.mjs'), TUN_WITHOUT_ADDON)
    const r = run(process.execPath, ['tun.mjs'], dir)
    expect(r.out.trim()).toMatch(/^ENOADDON tuntcp: the native TUN binding was not built .*npm rebuild tuntcp/)
  })
})
