// Opening a page in a real headless browser (Debian's chromium) over the DevTools
// protocol: what the console and the network saw while it loaded, and a screenshot.
// No puppeteer: a WebSocket (undici's; Node 20 has none built in) and a few commands.

import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { inflateSync } from 'node:zlib'
import { WebSocket } from 'undici'

/** The browser binary, or null when none is installed. */
export function chromiumPath(): string | null {
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      try {
        accessSync(join(dir || '.', name), constants.X_OK)
        return join(dir || '.', name)
      } catch {}
    }
  }
  return null
}

export interface Loaded {
  /** Console errors and warnings, uncaught exceptions, failed loads. */
  errors: string[]
  /** Every URL the page asked for beyond itself (a self-contained page asks for none). */
  requests: string[]
  png: Buffer
}

/** Start chromium with DevTools on a free port; resolves with the page's WebSocket URL. */
async function launch(binary: string, profile: string): Promise<{ child: ChildProcess; ws: string }> {
  const child = spawn(binary, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--remote-debugging-port=0',
    `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true })
  const port = await new Promise<number>((resolve, reject) => {
    let err = ''
    const timer = setTimeout(() => reject(new Error(`chromium did not start:\n${err}`)), 30_000)
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk
      const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(err)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.on('exit', code => reject(new Error(`chromium exited with ${code}:\n${err}`)))
  })
  // The about:blank page may not be listed the moment DevTools listens: ask again for a while.
  for (let attempt = 0; attempt < 50; attempt++) {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<{ type: string; webSocketDebuggerUrl: string }>
    const page = targets.find(t => t.type === 'page')
    if (page) return { child, ws: page.webSocketDebuggerUrl }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  child.kill()
  throw new Error('chromium started but shows no page target')
}

/** Load `file` in a `width` x `height` window, wait for the load event, take a full-page screenshot. */
export async function loadInChromium(file: string, width = 1000, height = 800): Promise<Loaded> {
  const profile = mkdtempSync(join(tmpdir(), 'tuntcp-chromium-'))
  const { child, ws: url } = await launch(chromiumPath()!, profile)
  const ws = new WebSocket(url)
  const pending = new Map<number, (result: Record<string, unknown>) => void>()
  const listeners = new Map<string, (params: Record<string, unknown>) => void>()
  let next = 1
  const send = (method: string, params: Record<string, unknown> = {}) => new Promise<Record<string, unknown>>(resolve => {
    const id = next++
    pending.set(id, resolve)
    ws.send(JSON.stringify({ id, method, params }))
  })
  const errors: string[] = []
  const requests: string[] = []
  const page = pathToFileURL(file).href
  try {
    await new Promise((resolve, reject) => {
      ws.onopen = resolve
      ws.onerror = reject
    })
    ws.onmessage = event => {
      const msg = JSON.parse(String(event.data)) as { id?: number; method?: string; result?: Record<string, unknown>; params?: Record<string, unknown> }
      if (msg.id !== undefined) pending.get(msg.id)?.(msg.result ?? {})
      else listeners.get(msg.method!)?.(msg.params!)
    }
    listeners.set('Runtime.consoleAPICalled', p => {
      if (p.type === 'error' || p.type === 'warning') errors.push(`console.${p.type}: ${JSON.stringify(p.args)}`)
    })
    listeners.set('Runtime.exceptionThrown', p => errors.push(`exception: ${JSON.stringify(p.exceptionDetails)}`))
    listeners.set('Log.entryAdded', p => {
      const entry = p.entry as { level: string; text: string; url?: string }
      if (entry.level === 'error' || entry.level === 'warning') errors.push(`${entry.level}: ${entry.text} ${entry.url ?? ''}`)
    })
    listeners.set('Network.requestWillBeSent', p => {
      const u = (p.request as { url: string }).url
      if (u !== page && !u.startsWith('data:')) requests.push(u)
    })
    const loaded = new Promise<void>(resolve => listeners.set('Page.loadEventFired', () => resolve()))
    for (const domain of ['Runtime', 'Log', 'Network', 'Page']) await send(`${domain}.enable`)
    await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false })
    await send('Page.navigate', { url: page })
    await loaded
    const shot = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })
    return { errors, requests, png: Buffer.from(shot.data as string, 'base64') }
  } finally {
    ws.close()
    // detached: chromium leads a process group of its own, so its helpers (which go on
    // writing the profile) stop with it.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      process.kill(-child.pid!, 'SIGKILL')
      await exited
    }
    // Chromium's helper processes may still be writing the profile as they go: retry the removal.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
  }
}

/** A PNG's pixels as RGBA (8-bit RGB or RGBA, non-interlaced: what chromium writes). */
export function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG')
  let at = 8
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  while (at < png.length) {
    const length = png.readUInt32BE(at)
    const type = png.toString('latin1', at + 4, at + 8)
    const data = png.subarray(at + 8, at + 8 + length)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit, non-interlaced PNGs')
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[data[9]!] ?? 0
      if (channels === 0) throw new Error(`PNG colour type ${data[9]} not handled`)
    }
    if (type === 'IDAT') idat.push(data)
    at += 12 + length
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const pixels = new Uint8Array(height * stride)
  // Undo each row's filter (PNG spec 9): none, sub, up, average, Paeth.
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!
      const a = i >= channels ? pixels[y * stride + i - channels]! : 0
      const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0
      const c = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels]! : 0
      const p = a + b - c
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c
      pixels[y * stride + i] = (x + [0, a, b, (a + b) >> 1, paeth][filter]!) & 0xff
    }
  }
  const rgba = new Uint8Array(width * height * 4)
  for (let i = 0; i < width * height; i++) {
    rgba.set(pixels.subarray(i * channels, i * channels + 3), i * 4)
    rgba[i * 4 + 3] = channels === 4 ? pixels[i * channels + 3]! : 255
  }
  return { width, height, rgba }
}

/** The share of pixels that are not (nearly) white, and of those near `rgb`. */
export function inkShare(png: Buffer, rgb: [number, number, number]): { ink: number; colour: number } {
  const { width, height, rgba } = decodePng(png)
  let ink = 0
  let colour = 0
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = [rgba[i * 4]!, rgba[i * 4 + 1]!, rgba[i * 4 + 2]!]
    if (r < 240 || g < 240 || b < 240) ink++
    if (Math.abs(r - rgb[0]) + Math.abs(g - rgb[1]) + Math.abs(b - rgb[2]) < 60) colour++
  }
  return { ink: ink / (width * height), colour: colour / (width * height) }
}
