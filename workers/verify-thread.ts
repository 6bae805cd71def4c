/** A helper thread of workers/verify-parallel.ts: checks packed signatures, answers one verdict byte each. */
import { parentPort } from 'node:worker_threads'
import '../src/polyfill.js'
import { verifyDetached } from '../src/core/signature.js'
import type { PackedChunk } from './verify-parallel.js'

parentPort!.on('message', (chunk: PackedChunk) => {
  const { messages, offsets, signatures, keys } = chunk
  const n = offsets.length - 1
  const verdicts = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    verdicts[i] = verifyDetached(signatures.subarray(64 * i, 64 * i + 64), messages.subarray(offsets[i]!, offsets[i + 1]!), keys.subarray(32 * i, 32 * i + 32)) ? 1 : 0
  }
  parentPort!.postMessage(verdicts, [verdicts.buffer])
})
