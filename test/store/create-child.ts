/** Child of create.test.ts: says "ready" once loaded, then on any stdin byte opens (creates) the database at argv[2]. */
import { openDatabase } from '../../src/store/db.js'

process.stdout.write('ready\n')
process.stdin.once('data', () => {
  openDatabase(process.argv[2]!).close()
  process.stdout.write('done\n')
})
