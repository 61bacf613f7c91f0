// The entry point of each `serve --workers` thread when the stack runs from its TypeScript
// sources (tests, tsx): a worker thread starts without the main thread's module hooks
// (Node 20), so it registers tsx's loader itself before importing the worker. The
// compiled package starts dist/bin/workers/worker.js directly (see pool.ts).
import { register } from 'tsx/esm/api'

register()
await import('./worker.ts')
