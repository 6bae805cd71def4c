/**
 * A child process for the contention test: bulk-ingests rows in big transactions (each holds the write lock) until
 * it has written `min` rows and its stdin is closed. Prints "started" once the first transaction is committed and,
 * at the end, one JSON line with what it did.
 */
import { randomUUID } from 'node:crypto'
import { openDatabase } from '../../src/store/db.js'
import { insertEntriesNoTx } from '../../src/store/entries.js'
import type { Entry } from '../../src/core/entry.js'

const [dbPath, minText, batchText] = process.argv.slice(2)
const min = Number(minText)
const batch = Number(batchText)
let stdinClosed = false
process.stdin.on('data', () => {})
process.stdin.on('end', () => { stdinClosed = true })

const db = openDatabase(dbPath!)
let written = 0
let transactions = 0
const firstTxStart = Date.now()
const make = (i: number): Entry => ({
  entry_id: randomUUID(),
  device_id: 'bulk-device',
  user_id: 'bulk',
  ts: new Date(1_700_000_000_000 + i).toISOString(),
  cmd: `bulk command number ${i} --with --some --arguments`,
  cwd: '/srv/bulk',
  exit_code: 0,
  duration_ms: i % 1000,
  shell: 'zsh',
  hostname: 'bulk-host',
  version: '0.1.0'
})

async function main (): Promise<void> {
  while (written < min || !stdinClosed) {
    // Rows are built inside the transaction: the write lock is held nearly all the time, as in the worst case.
    db.transaction(() => {
      const rows = Array.from({ length: batch }, (_, i) => make(written + i))
      written += insertEntriesNoTx(db, rows).inserted
    }).immediate()
    transactions++
    if (transactions === 1) process.stdout.write('started\n')
    // Let stdin events in between transactions; the next BEGIN IMMEDIATE competes with the recorders.
    await new Promise((resolve) => setImmediate(resolve))
  }
  const lastTxEnd = Date.now()
  db.close()
  process.stdout.write(JSON.stringify({ written, transactions, firstTxStart, lastTxEnd }) + '\n')
}

await main()
