// The examples of README.md and docs/api.md that need root and a TUN device, run as
// written with plain node against the compiled package (an example file inside the
// repository imports 'tuntcp' by the package's own name, which resolves to dist/).

import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { docExamples } from '../helpers/doc-examples'
import { KernelSockets, readAll, waitFor } from './helpers'
import { interfaceExists, requireFreshNetns } from './netns'

const root = resolve(import.meta.dirname, '../..')
const dir = resolve(root, 'build/doc-examples')
const examples = new Map(docExamples().filter(e => e.root).map(e => [e.name, e]))
const kernel = new KernelSockets()

/** Run an example as a child process; stdout and stderr are collected. */
function start(name: string) {
  const example = examples.get(name)
  if (!example) throw new Error(`no root example ${name} in the docs`)
  const file = resolve(dir, `${name}.mjs`)
  writeFileSync(file, example.code)
  const child = spawn(process.execPath, [file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c })
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c })
  const exited = new Promise<number | null>(done => child.on('close', code => done(code)))
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

beforeAll(() => {
  requireFreshNetns()
  mkdirSync(dir, { recursive: true })
  // npm test builds dist/ first; a kernel run on its own may not have.
  if (!existsSync(resolve(root, 'dist/index.js'))) spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
})

afterEach(() => kernel.destroyAll())

describe('the docs examples over TUN', () => {
  it('lists exactly the TUN examples this file runs', () => {
    expect([...examples.keys()].sort()).toEqual(['readme', 'tun'])
  })

  it('docs/api.md tun: a kernel socket and the stack echo across one device, then it exits', async () => {
    const run = start('tun')
    const code = await Promise.race([run.exited, new Promise(r => setTimeout(() => r('timeout'), 20_000))])
    if (code === 'timeout') run.child.kill('SIGKILL')
    expect(run.stderr()).toBe('')
    expect(code).toBe(0)
    expect(run.stdout()).toBe('echoed: hello from the kernel\n')
    expect(interfaceExists('tuntcp0')).toBe(false)   // created by the example, gone with it
  })

  it('README: the echo server answers a kernel client and reports its states', async () => {
    const run = start('readme')
    try {
      await waitFor(() => run.stdout().includes('echo at 10.77.0.2:7'), 'the example listening', 10_000)
      const sock = await kernel.dial('10.77.0.2', 7)
      sock.end('hello, README')
      const { data } = await readAll(sock, 10_000)
      expect(data.toString()).toBe('hello, README')
      await waitFor(() => run.stdout().includes('CLOSE-WAIT -> LAST-ACK (CLOSE)'), 'the close reported', 5_000)
      expect(run.stdout()).toContain('ESTABLISHED -> CLOSE-WAIT')
      expect(run.stderr()).toBe('')
    } finally {
      run.child.kill('SIGTERM')
      await run.exited
    }
  })
})
