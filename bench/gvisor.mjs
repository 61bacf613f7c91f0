// Building bench/gvisor/ (gVisor's netstack serving the bench's services, the --peer=gvisor
// column of `npm run bench`) with Debian's Go and gVisor packages. No network: Go builds in
// GOPATH mode against /usr/share/gocode, where golang-gvisor-gvisor-dev and its dependencies
// put their sources. The binary and Go's build cache go to bench/gvisor/bin/ (gitignored).

import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { root } from './processes.mjs'

/** Where Debian's golang-*-dev packages keep their Go sources. */
export const GOPATH = '/usr/share/gocode'
const GVISOR_SOURCE = join(GOPATH, 'src/gvisor.dev/gvisor/pkg/tcpip')
const SOURCE_DIR = join(root, 'bench/gvisor')
const BIN_DIR = join(SOURCE_DIR, 'bin')

/** The binary bench/net.mjs runs for the gvisor column. */
export const GVISOR_BINARY = join(BIN_DIR, 'gvisor-peer')

export const INSTALL_HINT = 'apt-get install golang-go golang-gvisor-gvisor-dev'

/** Why bench/gvisor/ cannot be built here (Go or the gVisor sources missing), or null. */
export function gvisorBlocker() {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' })
  if (go.error || go.status !== 0) return `Go is not installed (${INSTALL_HINT})`
  if (!existsSync(GVISOR_SOURCE)) return `the gVisor sources are not installed (${INSTALL_HINT})`
  return null
}

/**
 * `go build` bench/gvisor/ into `out` (GVISOR_BINARY unless told); returns { ok: true } or
 * { ok: false, message } with Go's last lines of output.
 */
export function buildGvisor(out = GVISOR_BINARY) {
  mkdirSync(BIN_DIR, { recursive: true })
  const env = {
    ...process.env, GO111MODULE: 'off', GOPATH, GOPROXY: 'off', GOFLAGS: '',
    GOCACHE: join(BIN_DIR, 'go-cache'),
  }
  const r = spawnSync('go', ['build', '-o', out, '.'], { cwd: SOURCE_DIR, env, encoding: 'utf8', timeout: 300_000 })
  if (r.status === 0) return { ok: true }
  const detail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-5).join(' | ')
  return { ok: false, message: `go build bench/gvisor failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}): ${detail}` }
}

/**
 * For --peer=gvisor: null once GVISOR_BINARY is there and newer than main.go (built now if
 * not), else the one-line reason the gvisor column is skipped.
 */
export function prepareGvisor(log = line => console.log(line)) {
  const blocker = gvisorBlocker()
  if (blocker) return `gvisor column skipped: ${blocker}`
  const fresh = existsSync(GVISOR_BINARY) && statSync(GVISOR_BINARY).mtimeMs >= statSync(join(SOURCE_DIR, 'main.go')).mtimeMs
  if (fresh) return null
  log('bench: building bench/gvisor (go build, GOPATH mode against Debian\'s gVisor sources) ...')
  const built = buildGvisor()
  return built.ok ? null : `gvisor column skipped: ${built.message}`
}
