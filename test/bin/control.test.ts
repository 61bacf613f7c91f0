// serve's control socket: one per device and network namespace, so two serves in two
// namespaces can both hold tuntcp0 and each `tuntcp ss` finds the one of its own.
import { readlinkSync } from 'node:fs'
import { afterEach, expect, it } from 'vitest'
import { controlPath, netns, query, startControl, type Snapshot } from '../../src/bin/control'

const open: Array<{ close(): void }> = []
afterEach(() => { for (const c of open.splice(0)) c.close() })

const device = `tkctl${process.pid % 10_000}`
const snapshot = (address: string): Snapshot => ({ address, device, connections: [], counters: {} })

it("names the socket by this process's network namespace inode", () => {
  const inode = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/net'))![1]!
  expect(netns()).toBe(inode)
  expect(controlPath(device)).toMatch(new RegExp(`/net${inode}-${device}\\.sock$`))
  expect(controlPath(device, '1')).not.toBe(controlPath(device, '2'))
  expect(controlPath(device, null)).toMatch(new RegExp(`/${device}\\.sock$`)) // no /proc: one per device, as before
})

it('serves the same device name in two namespaces side by side, each asked apart', async () => {
  open.push(await startControl(() => snapshot('10.1.0.2'), device, '1'))
  open.push(await startControl(() => snapshot('10.2.0.2'), device, '2'))
  expect((await query(device, '1')).address).toBe('10.1.0.2')
  expect((await query(device, '2')).address).toBe('10.2.0.2')
  // A second serve in the same namespace is refused; a namespace with none says so.
  await expect(startControl(() => snapshot('10.1.0.3'), device, '1')).rejects.toThrow(/another tuntcp serve is running on tkctl\d+ in this network namespace/)
  await expect(query(device, '3')).rejects.toThrow(/no tuntcp serve is running on tkctl\d+ in this network namespace/)
})

it('asks the serve of its own namespace by default', async () => {
  open.push(await startControl(() => snapshot('10.3.0.2'), device))
  expect((await query(device)).address).toBe('10.3.0.2')
  await expect(query(device, 'other')).rejects.toThrow(/no tuntcp serve/)
})
