import { join } from 'node:path'
import test from 'ava'
import { maxStoredCmdBytes } from '../../src/core/entry.js'
import { openDatabase } from '../../src/store/db.js'
import { device } from '../helpers/peers.js'
import { makeEntry, seedDb, startPeer } from '../p2p/fixtures.js'
import { tempDir } from '../helpers/tmp.js'

test('an entry over the command cap pulled from a peer is refused and counted: the round says partial, sync-status and doctor show it', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const peerDb = join(dir, 'peer.db')
  seedDb(peerDb, 5, { deviceId: 'peer-device' })
  // Stored past the validator (an older or hostile peer): a command over the 64 KiB cap.
  const big = makeEntry(99, { device_id: 'peer-device', cmd: `echo ${'y'.repeat(maxStoredCmdBytes + 10)}` })
  const db = openDatabase(peerDb)
  db.prepare('INSERT INTO entries (entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version) VALUES (@entry_id, @device_id, @user_id, @ts, @cmd, @cwd, @exit_code, @duration_ms, @shell, @hostname, @version)').run(big)
  db.close()
  const peer = await startPeer(t, { dir, swarmKeyPath: swarm, dbPath: peerDb, name: 'peer' })
  const b = device(t, dir, 'devB', swarm)

  const sync = await b.rr(['p2p-sync', '--peers', peer.addr])
  t.is(sync.code, 0, sync.stderr)
  t.regex(sync.stdout, /sync: peer=\w+ partial path=direct pulled=6 inserted=5 pushed=0(?: tombstones=unsupported)? refused=1 \(first: invalid entry [0-9a-f-]+: cmd is longer than \d+ bytes\)/)
  t.notRegex(sync.stdout, / ok /)
  t.is(b.entryIds().length, 5)

  const status = await b.rr(['sync-status'])
  t.regex(status.stdout, /refused +1 entries in total, not stored \(invalid or over a cap\); last .*: 1, first reason: invalid entry/)
  t.regex(status.stdout, /1 sent entries we refused/)
  const doctor = await b.rr(['doctor'])
  t.regex(doctor.stdout, /refused +1 entries from peers were refused/)
  t.regex(doctor.stdout, /warning: 1 entries sent by peers were refused/)

  // The next round pulls nothing new and refuses nothing more: the count stays 1.
  const again = await b.rr(['p2p-sync', '--peers', peer.addr])
  t.regex(again.stdout, / ok path=direct pulled=0 inserted=0/)
  t.regex((await b.rr(['sync-status'])).stdout, /refused +1 entries in total/)
})
