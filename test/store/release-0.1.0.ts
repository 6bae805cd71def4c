/**
 * rustory 0.1.0 (commit cf546e7, the release before signed entries), as far as the database sees it: its schema
 * (migrations 1-5 and its migrate, copied verbatim) and its exact statements on entries, command_latest, peer_state,
 * peer_push_state and counters (src/store/entries.ts, src/store/peers.ts, workers/export-batch.ts of that commit).
 * A running 0.1.0 process keeps these prepared on its connection (workers cache their handles) and opens the file
 * again whenever a worker thread starts. Do not edit: they are what is deployed.
 */
import Database from 'better-sqlite3'
import { entryFields, type Entry } from '../fixtures/entry-v1.js'

const migrations: ReadonlyArray<{ version: number, sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE entries (
        ingest_seq  INTEGER PRIMARY KEY AUTOINCREMENT,
        entry_id    TEXT    NOT NULL,
        device_id   TEXT    NOT NULL,
        user_id     TEXT    NOT NULL,
        ts          TEXT    NOT NULL,
        cmd         TEXT    NOT NULL,
        cwd         TEXT    NOT NULL,
        exit_code   INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        shell       TEXT    NOT NULL,
        hostname    TEXT    NOT NULL,
        version     TEXT    NOT NULL
      );
      CREATE UNIQUE INDEX entries_entry_id ON entries (entry_id);
      CREATE INDEX entries_ts ON entries (ts, device_id, entry_id);
      CREATE INDEX entries_device_id ON entries (device_id, ingest_seq);
      -- ingest_seq needs no index of its own: as INTEGER PRIMARY KEY it is the rowid, the table's own b-tree key.

      CREATE TABLE peer_state (
        peer_id     TEXT    PRIMARY KEY,
        last_cursor INTEGER NOT NULL
      );
      CREATE TABLE peer_push_state (
        peer_id         TEXT    PRIMARY KEY,
        last_pushed_seq INTEGER NOT NULL
      );
      CREATE TABLE peer_book (
        peer_id        TEXT    PRIMARY KEY,
        addrs          TEXT    NOT NULL,
        user_id        TEXT,
        device_id      TEXT,
        hostname       TEXT,
        last_seen_unix INTEGER NOT NULL
      );
      CREATE TABLE counters (
        name  TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
      );
    `
  },
  {
    version: 2,
    sql: `
      CREATE TABLE sync_status (
        peer_id         TEXT PRIMARY KEY,
        last_pull_unix  INTEGER,
        last_pull_count INTEGER,
        last_push_unix  INTEGER,
        last_push_count INTEGER,
        last_error      TEXT,
        last_error_unix INTEGER,
        last_path       TEXT,
        last_addr       TEXT
      );
    `
  },
  {
    // command_latest: one row per distinct command at its most recent use in UI order (ts, device_id, entry_id),
    // so the unfiltered ctrl+r feed walks distinct commands instead of every entry. A derived index of the
    // append-only entries table, kept by an AFTER INSERT trigger in the same transaction as every insert (record,
    // import and sync need no change); a duplicate entry_id is not inserted, so the trigger does not fire.
    // A rowid table with cmd last and UNIQUE: the upsert compares ts/device_id/entry_id without reading a long
    // command's overflow pages, and the feed index points at the row by rowid instead of repeating the command.
    // The backfill is one statement whatever the size (newest first, so most rows are no-op conflicts); the feed
    // index is built after it, in one sort.
    version: 3,
    sql: `
      CREATE TABLE command_latest (
        id        INTEGER PRIMARY KEY,
        ts        TEXT NOT NULL,
        device_id TEXT NOT NULL,
        entry_id  TEXT NOT NULL,
        cmd       TEXT NOT NULL UNIQUE
      );
      INSERT INTO command_latest (ts, device_id, entry_id, cmd)
        SELECT ts, device_id, entry_id, cmd FROM entries WHERE true ORDER BY ts DESC, device_id DESC, entry_id DESC
        ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
          WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id);
      CREATE INDEX command_latest_ts ON command_latest (ts, device_id, entry_id);
      CREATE TRIGGER entries_command_latest AFTER INSERT ON entries BEGIN
        INSERT INTO command_latest (ts, device_id, entry_id, cmd) VALUES (new.ts, new.device_id, new.entry_id, new.cmd)
          ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
            WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id);
      END;
    `
  },
  {
    // command_latest is kept by insertEntriesNoTx (src/store/entries.ts) instead: one set-based upsert per batch
    // over the rows it just inserted costs about two thirds of the per-row trigger (66k vs 45k rows/s measured).
    // Every insert into entries goes through insertEntriesNoTx.
    version: 4,
    sql: `
      DROP TRIGGER IF EXISTS entries_command_latest;
    `
  },
  {
    // Spool files whose effect entry_id dedup cannot make idempotent (counter-only records, rejected files), noted in
    // the transaction that counted them: a drainer that dies after its commit, before removing them, leaves them to
    // the next drain, which must not count them again (src/store/spool.ts). Rows go once their files are gone.
    version: 5,
    sql: `
      CREATE TABLE IF NOT EXISTS spool_done (key TEXT PRIMARY KEY) WITHOUT ROWID;
    `
  }
]

export const releaseSchemaVersion = migrations[migrations.length - 1]!.version

/** Its migrate: refuses a file whose user_version is above its own, else brings it up to 5. */
export function releaseMigrate (db: Database.Database, path: string): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current === releaseSchemaVersion) return
  if (current > releaseSchemaVersion) throw new Error(`database ${path} has schema version ${current}, newer than this rustory understands (${releaseSchemaVersion}); upgrade rustory`)
  const run = db.transaction(() => {
    const now = db.pragma('user_version', { simple: true }) as number
    for (const m of migrations) {
      if (m.version <= now) continue
      db.exec(m.sql)
      db.pragma(`user_version = ${m.version}`)
    }
  })
  run.immediate()
}

/** Its openDatabase (writable): WAL, busy timeout 10 s, migrate. What each of its worker threads does first. */
export function releaseOpen (path: string): Database.Database {
  const db = new Database(path)
  db.pragma('busy_timeout = 10000')
  if ((db.pragma('journal_mode', { simple: true }) as string) !== 'wal') db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  releaseMigrate(db, path)
  return db
}

/** The release's entry model (test/fixtures/entry-v1.ts holds that release's src/core/entry.ts verbatim). */
export type ReleaseEntry = Entry

export const releaseEntryFields = entryFields
const columns = releaseEntryFields.join(', ')
const placeholders = releaseEntryFields.map(() => '?').join(', ')
const entryJsonSql = `json_object(${releaseEntryFields.map((f) => `'${f}', ${f}`).join(', ')})`

/** Its statements, prepared once on one connection (as its workers keep them). */
export function releaseStatements (db: Database.Database) {
  const insert = (rows: number): Database.Statement => db.prepare(`INSERT INTO entries (${columns}) VALUES ${Array.from({ length: rows }, () => `(${placeholders})`).join(', ')} ON CONFLICT(entry_id) DO NOTHING`)
  const statements = {
    insert1: insert(1),
    insert16: insert(16),
    maxIngestSeq: db.prepare('SELECT COALESCE(MAX(ingest_seq), 0) AS n FROM entries'),
    updateCommandLatest: db.prepare(`INSERT INTO command_latest (ts, device_id, entry_id, cmd)
        SELECT ts, device_id, entry_id, cmd FROM entries WHERE ingest_seq > ? ORDER BY cmd
        ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
          WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id)`),
    peerState: db.prepare(`INSERT INTO peer_state (peer_id, last_cursor) VALUES (?, ?)
                ON CONFLICT(peer_id) DO UPDATE SET last_cursor = MAX(last_cursor, excluded.last_cursor)`),
    pushState: db.prepare(`INSERT INTO peer_push_state (peer_id, last_pushed_seq) VALUES (?, ?)
              ON CONFLICT(peer_id) DO UPDATE SET last_pushed_seq = MAX(last_pushed_seq, excluded.last_pushed_seq)`),
    counter: db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value'),
    entriesAfter: db.prepare(`SELECT ingest_seq, ${columns} FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?`),
    ownEntriesAfter: db.prepare(`SELECT ingest_seq, ${columns} FROM entries WHERE device_id = ? AND ingest_seq > ? ORDER BY ingest_seq LIMIT ?`),
    exportBatch: db.prepare(`SELECT ${entryJsonSql}, ingest_seq FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?`),
    exportPush: db.prepare(`SELECT ${entryJsonSql}, ingest_seq FROM entries WHERE device_id = ? AND ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
  }
  /** Its insertEntries + ingestPulledBatch: one immediate transaction, 16 rows per statement, then one by one. */
  const ingestPulledBatch = (peerId: string, entries: readonly ReleaseEntry[], nextCursor: number): number => db.transaction(() => {
    const before = (statements.maxIngestSeq.get() as { n: number }).n
    let inserted = 0
    let i = 0
    for (; i + 16 <= entries.length; i += 16) {
      inserted += statements.insert16.run(entries.slice(i, i + 16).flatMap((e) => releaseEntryFields.map((f) => e[f]))).changes
    }
    for (; i < entries.length; i++) inserted += statements.insert1.run(releaseEntryFields.map((f) => entries[i]![f])).changes
    if (inserted > 0) statements.updateCommandLatest.run(before)
    statements.peerState.run(peerId, nextCursor)
    return inserted
  }).immediate()
  return { ...statements, ingestPulledBatch }
}
