/**
 * Checking a received batch's signatures on several threads at once. An Ed25519 check is about 50 µs of CPU
 * (libsodium, measured on this machine): 200k relayed entries are 10 s, three times the rest of their ingest. The
 * ingest thread checks its share while helper threads (one fewer than the cores, at most 3) check theirs, packed
 * into transferred buffers. Only the checks move: the verdicts come back to the ingest thread, which stores. A
 * helper that fails leaves its share to be checked here: nothing is ever taken as verified without a check.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Entry } from '../src/core/entry.js'
import { verificationInput, verifyDetached, type VerificationInput } from '../src/core/signature.js'

/** The messages of a chunk end to end (offsets: n + 1 of them), then 64-byte signatures and 32-byte keys. */
export interface PackedChunk {
  messages: Uint8Array
  offsets: Uint32Array
  signatures: Uint8Array
  keys: Uint8Array
}

const maxHelpers = 3
/** Below this many checks per thread, a hand-off costs more than it saves. */
const minPerThread = 256

interface Helper {
  worker: Worker
  waiting: Array<{ resolve: (verdicts: Uint8Array) => void, reject: (err: Error) => void }>
}
let helpers: Helper[] | undefined

function startHelpers (): Helper[] {
  const count = Math.max(0, Math.min(maxHelpers, availableParallelism() - 1))
  return Array.from({ length: count }, () => {
    const helper: Helper = { worker: new Worker(new URL('./verify-thread.js', import.meta.url)), waiting: [] }
    helper.worker.on('message', (verdicts: Uint8Array) => {
      helper.waiting.shift()?.resolve(verdicts)
      if (helper.waiting.length === 0) helper.worker.unref()
    })
    const fail = (err: Error): void => {
      helpers = helpers?.filter((h) => h !== helper)
      for (const w of helper.waiting.splice(0)) w.reject(err)
    }
    helper.worker.on('error', fail)
    helper.worker.on('exit', (code) => fail(new Error(`signature helper exited with code ${code}`)))
    // An idle helper never keeps a process (or the pool's thread) alive; one with checks under way does.
    helper.worker.unref()
    return helper
  })
}

function pack (inputs: readonly VerificationInput[]): PackedChunk {
  let total = 0
  for (const x of inputs) total += x.message.length
  const chunk: PackedChunk = { messages: new Uint8Array(total), offsets: new Uint32Array(inputs.length + 1), signatures: new Uint8Array(64 * inputs.length), keys: new Uint8Array(32 * inputs.length) }
  let at = 0
  inputs.forEach((x, i) => {
    chunk.messages.set(x.message, at)
    at += x.message.length
    chunk.offsets[i + 1] = at
    chunk.signatures.set(x.signature, 64 * i)
    chunk.keys.set(x.publicKey, 32 * i)
  })
  return chunk
}

async function onHelper (helper: Helper, inputs: readonly VerificationInput[]): Promise<Uint8Array> {
  const chunk = pack(inputs)
  return await new Promise((resolve, reject) => {
    helper.waiting.push({ resolve, reject })
    helper.worker.ref()
    helper.worker.postMessage(chunk, [chunk.messages.buffer, chunk.offsets.buffer, chunk.signatures.buffer, chunk.keys.buffer] as ArrayBuffer[])
  })
}

/**
 * A verdict per entry: true when it needs a check (`needs`) and its signature verifies. Entries that need none get
 * false (not consulted); a malformed one is false.
 */
export async function verifyAll (entries: readonly Entry[], needs: (entry: Entry) => boolean): Promise<boolean[]> {
  const verdicts = new Array<boolean>(entries.length).fill(false)
  const todo: Array<{ i: number, input: VerificationInput }> = []
  entries.forEach((entry, i) => {
    if (!needs(entry)) return
    const input = verificationInput(entry)
    if (input != null) todo.push({ i, input })
  })
  const here = (part: typeof todo): void => {
    for (const { i, input } of part) verdicts[i] = verifyDetached(input.signature, input.message, input.publicKey)
  }
  const threads = Math.floor(todo.length / minPerThread) >= 2 ? Math.min((helpers ??= startHelpers()).length + 1, Math.floor(todo.length / minPerThread)) : 1
  if (threads <= 1) {
    here(todo)
    return verdicts
  }
  const per = Math.ceil(todo.length / threads)
  const away = helpers!.slice(0, threads - 1).map(async (helper, k) => {
    const part = todo.slice((k + 1) * per, (k + 2) * per)
    try {
      const got = await onHelper(helper, part.map((x) => x.input))
      part.forEach((x, j) => { verdicts[x.i] = got[j] === 1 })
    } catch {
      here(part)
    }
  })
  here(todo.slice(0, per))
  await Promise.all(away)
  return verdicts
}

/**
 * Checks these signatures on a helper thread while the caller goes on (3.0.0: a batch's chunk manifests, while the
 * ingest thread hashes its entries); here, at once, when there is no helper (one core) or it fails.
 */
export async function verifyElsewhere (inputs: readonly VerificationInput[]): Promise<boolean[]> {
  const here = (): boolean[] => inputs.map((x) => verifyDetached(x.signature, x.message, x.publicKey))
  const helper = inputs.length > 0 ? (helpers ??= startHelpers())[0] : undefined
  if (helper == null) return here()
  try {
    const got = await onHelper(helper, inputs)
    return inputs.map((_, j) => got[j] === 1)
  } catch {
    return here()
  }
}
