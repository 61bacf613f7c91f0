// The entry point of each `serve --workers` thread. A worker thread starts without the
// main thread's module hooks (Node 20), so it registers tsx's loader itself, as
// bin/tuntcp.mjs does, before importing the TypeScript worker.
import { register } from 'tsx/esm/api'

register()
await import('./worker.ts')
