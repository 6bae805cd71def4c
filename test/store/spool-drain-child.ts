/**
 * A drainer process for the spool tests. Opens the database (without its implicit drain), prints "ready", waits for
 * a line on stdin (so several start at the same instant), drains with the given chunk size, prints the result as
 * one JSON line. Modes that crash on purpose, with SIGKILL, as a power cut or the OOM killer would:
 *  - crash-mid: after the first row is inserted, inside the transaction (the claims are taken, nothing committed);
 *  - crash-after-commit: at the first unlink, after the transaction committed.
 * And one that makes two drainers overlap whatever the scheduler does:
 *  - pause-after-commit: at the first unlink (its first chunk committed, its claims still there) prints "paused",
 *    then waits until the file named by the fourth argument exists before going on.
 */
import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { openDatabase } from '../../src/store/db.js'
import { drainSpool } from '../../src/store/spool.js'

const [dbPath, mode = 'drain', chunkText = '2000', resumePath] = process.argv.slice(2)
const crash = (): never => { process.kill(process.pid, 'SIGKILL'); throw new Error('unreachable') }

const db = openDatabase(dbPath!)
if (mode === 'crash-mid') {
  db.function('rustory_test_crash', () => crash())
  db.exec('CREATE TEMP TRIGGER rustory_test_crash AFTER INSERT ON main.entries BEGIN SELECT rustory_test_crash(); END')
} else if (mode === 'crash-after-commit') {
  fs.unlinkSync = () => crash()
  syncBuiltinESMExports()
} else if (mode === 'pause-after-commit') {
  const unlink = fs.unlinkSync
  let paused = false
  fs.unlinkSync = (path) => {
    if (!paused) {
      paused = true
      fs.writeSync(1, 'paused\n')
      const nap = new Int32Array(new SharedArrayBuffer(4))
      while (!fs.existsSync(resumePath!)) Atomics.wait(nap, 0, 0, 5)
    }
    unlink(path)
  }
  syncBuiltinESMExports()
}
process.stdout.write('ready\n')
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()))
const result = drainSpool(db, dbPath!, { chunkFiles: Number(chunkText) })
db.close()
process.stdout.write(JSON.stringify(result) + '\n')
process.exit(0)
