/**
 * Schema and versioned migrations (the version reached is in schema_level, and PRAGMA user_version below 5; see
 * requiredVersion). Migrations run in one transaction, and each one can run again safely.
 * Never edit a released migration: add a new one.
 */
import type { Database } from 'better-sqlite3'
import { RustoryError } from '../core/errors.js'

interface Migration {
  version: number
  /** Columns to add first, each skipped when the table has it already (so the migration can run twice). */
  addColumns?: ReadonlyArray<{ table: string, column: string, decl: string }>
  sql: string
  /** Work SQL alone cannot say, run after sql in the same transaction. */
  run?: (db: Database) => void
}

const migrations: readonly Migration[] = [
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
  },
  {
    // Signed entries (docs/TRUST.md). origin: the signing device's PeerId, '' when unsigned. sig: its signature.
    // trust: 0 unverified (received unsigned, or stored before this version), 1 verified (signature checked, or
    // signed here), 2 recorded here and not signed yet (signed lazily before it is served; see signPending).
    // ts_orig: the stamp as received when it was more than a day in the future (then ts is the receive time).
    // One row per entry_id stays the rule, and so does UNIQUE(entry_id): rustory 0.1.0 (cf546e7) inserts with
    // `ON CONFLICT(entry_id) DO NOTHING`, and one of its processes may still be running on this file (p2p-serve,
    // p2p-sync --watch) when a new `rr` migrates it; without that index every insert of the old process fails.
    // A rival copy (the same entry_id signed by a second key, stored beside the first signed row so a forged copy
    // can never hide the genuine one) is stored under the storage id `<entry_id>/<origin>`, with its wire entry_id
    // in rival_of (NULL on every other row). The wire id of any row is COALESCE(rival_of, entry_id): what is
    // served, shown, deleted by a tombstone. A storage id is never a UUID, so an old process serving it hands its
    // peers an entry they refuse as invalid instead of a duplicate under a made-up id. Every row with a wire id
    // has that id as entry_id or is a rival of the row that has (src/store/entries.ts keeps this), so the old
    // statement's conflict on entry_id still means "this entry is here".
    version: 7,
    addColumns: [
      { table: 'entries', column: 'origin', decl: "TEXT NOT NULL DEFAULT ''" },
      { table: 'entries', column: 'sig', decl: 'TEXT' },
      { table: 'entries', column: 'trust', decl: 'INTEGER NOT NULL DEFAULT 0' },
      { table: 'entries', column: 'ts_orig', decl: 'TEXT' },
      { table: 'entries', column: 'rival_of', decl: 'TEXT' }
    ],
    sql: `
      CREATE INDEX IF NOT EXISTS entries_rival_of ON entries (rival_of) WHERE rival_of IS NOT NULL;
      CREATE INDEX IF NOT EXISTS entries_unsigned_local ON entries (ingest_seq) WHERE trust = 2;
    `
  },
  {
    // session_id: the shell session that recorded an entry (optional; NULL on older entries). Adding a nullable
    // column only rewrites the schema, not the rows: instant on any size, and safe beside a running reader.
    version: 8,
    addColumns: [{ table: 'entries', column: 'session_id', decl: 'TEXT' }],
    sql: ''
  },
  {
    // Forgetting (src/store/tombstones.ts). (Assigned 6; numbered 9, after main's 7 and 8, so a database already
    // at 8 gets it.) A tombstone names a deleted entry_id, when and by which device; it never carries command text. seq is this database's own tombstone order, the cursor peers pull tombstones by
    // (/rustory/tombstone-pull/1.0.0), as ingest_seq is for entries. The BEFORE INSERT trigger refuses a
    // tombstoned entry_id on every insert path (record spool, import, pull, push, HTTP, and an older rustory
    // writing to this file), so a deleted entry never comes back. Import batches list the entry_ids an import
    // inserted (`rr delete --import <batch>`), and which of them had no timestamp of their own (untimed).
    // sync_refusals counts entries refused while pulling (over the cap, invalid), so no refusal is silent.
    // Every statement is IF NOT EXISTS: the migration is safe to run again.
    version: 9,
    sql: `
      CREATE TABLE IF NOT EXISTS tombstones (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        entry_id   TEXT NOT NULL UNIQUE,
        deleted_at TEXT NOT NULL,
        device_id  TEXT NOT NULL,
        peer_id    TEXT
      );
      CREATE TABLE IF NOT EXISTS tombstone_peer_state (
        peer_id     TEXT    PRIMARY KEY,
        last_cursor INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS tombstone_push_state (
        peer_id         TEXT    PRIMARY KEY,
        last_pushed_seq INTEGER NOT NULL
      );
      CREATE TRIGGER IF NOT EXISTS entries_refuse_tombstoned BEFORE INSERT ON entries
        WHEN EXISTS (SELECT 1 FROM tombstones WHERE entry_id = COALESCE(new.rival_of, new.entry_id))
        BEGIN SELECT RAISE(IGNORE); END;
      CREATE TABLE IF NOT EXISTS import_batches (
        batch_id   TEXT    PRIMARY KEY,
        created_at TEXT    NOT NULL,
        shell      TEXT    NOT NULL,
        path       TEXT    NOT NULL,
        inserted   INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS import_batch_entries (
        batch_id TEXT    NOT NULL,
        entry_id TEXT    NOT NULL,
        untimed  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (batch_id, entry_id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS import_batch_entries_untimed ON import_batch_entries (entry_id) WHERE untimed = 1;
      CREATE TABLE IF NOT EXISTS sync_refusals (
        peer_id             TEXT    PRIMARY KEY,
        refused_total       INTEGER NOT NULL DEFAULT 0,
        last_refused_count  INTEGER,
        last_refused_reason TEXT,
        last_refused_unix   INTEGER
      );
    `
  },
  {
    // Repairs a database that ran version 7 as it was first written (development builds only, never released): that
    // dropped UNIQUE(entry_id) for UNIQUE(entry_id, origin), so one entry_id could have rows from several origins.
    // Unverified copies beside a signed one go (a signed copy takes their place); of the rest, a row recorded here
    // (not signed yet), else the oldest signed row, keeps the entry_id and each other one becomes a rival (see
    // version 7); then UNIQUE(entry_id) is back.
    // On every other database there is nothing to repair: the function only looks for the missing index.
    version: 10,
    sql: `
      DROP TRIGGER IF EXISTS entries_refuse_tombstoned;
      CREATE TRIGGER entries_refuse_tombstoned BEFORE INSERT ON entries
        WHEN EXISTS (SELECT 1 FROM tombstones WHERE entry_id = COALESCE(new.rival_of, new.entry_id))
        BEGIN SELECT RAISE(IGNORE); END;
    `,
    run: restoreUniqueEntryId
  },
  {
    // Chunk signatures (docs/PROTOCOL.md, "Chunk signatures (3.0.0)"). A chunk is one manifest its origin signed:
    // Ed25519 over up to 256 entry hashes (src/core/chunk.ts), kept as signed so it can be served onward and checked
    // again at every hop. entries.chunk links a row to the manifest that lists it (NULL: none; then a signed row has
    // its per-entry sig). A row is linked only when it is signed here or arrived verified against that chunk.
    // A new table and a nullable column: nothing an older process runs changes meaning, and both are IF NOT EXISTS /
    // added only when missing, in the migration's write transaction (safe beside a running reader or writer).
    version: 11,
    addColumns: [{ table: 'entries', column: 'chunk', decl: 'INTEGER' }],
    sql: `
      CREATE TABLE IF NOT EXISTS chunks (
        id     INTEGER PRIMARY KEY,
        origin TEXT NOT NULL,
        sig    BLOB NOT NULL,
        hashes BLOB NOT NULL,
        UNIQUE (origin, sig)
      );
    `
  },
  {
    // Growing chunks: an origin signs new entries into its last chunk while it has room, re-signing the whole
    // manifest (src/store/entries.ts signPending), and a receiver keeps only the longest manifest of a run
    // (storeChunks): it finds the one it holds by origin and first hash. An index only: older processes never read
    // it, and SQLite keeps it up to date for their writes too.
    version: 12,
    sql: 'CREATE INDEX IF NOT EXISTS chunks_head ON chunks (origin, substr(hashes, 1, 32));'
  },
  {
    // A row verified against a chunk manifest, with no signature of its own, is stored from now on with origin ''
    // and its chunk's origin is its own (src/store/wire-id.ts rowOriginSql): the 52-character PeerId is kept once
    // per manifest instead of on every row. Rows stored before keep theirs; both read the same. No statement: the
    // level says that readers must take a row's origin through its chunk. rustory 0.1.0 never reads origin, and
    // user_version stays 5.
    version: 13,
    sql: ''
  },
  {
    // chunk_pos: where a row's hash is in the manifest it is linked to (entries.chunk), when known: set when the row is
    // signed here, or verified against a manifest by its hash (NULL: not known, as on every row from before, or a
    // row taken first-hand by `k` without hashing it). A 4.0.0 server names such rows by runs instead of sending
    // their hashes (docs/PROTOCOL.md, "Runs (4.0.0)"); a row without it goes by `k`, as on 3.0.0. A nullable column
    // added in the migration's write transaction: safe beside a running reader or writer, which never reads it.
    // Rows linked before it get their place in the background (placeChunkRows; -1 when the row's hash is not in its
    // manifest). A file migrated to 14 by the release before this one also has a partial index, entries_unplaced,
    // that 15 drops; from 13, it is not built only to be dropped.
    version: 14,
    addColumns: [{ table: 'entries', column: 'chunk_pos', decl: 'INTEGER' }],
    sql: ''
  },
  {
    // entries_unplaced held every row taken first-hand (by `k`, not hashed): one more index entry per row of a direct
    // pull, about a quarter of what signing added to its ingest (npm run bench, section signing). placeChunkRows walks
    // the new rows by ingest_seq instead, from where its last call got to. Only a schema-14 process used the index:
    // its probe still runs without it, as a scan.
    version: 15,
    sql: 'DROP INDEX IF EXISTS entries_unplaced;'
  }
]

function restoreUniqueEntryId (db: Database): void {
  if (db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = 'entries_entry_id'").get() != null) return
  const cmds = db.prepare(`DELETE FROM entries WHERE origin = '' AND trust = 0
      AND entry_id IN (SELECT entry_id FROM entries WHERE origin <> '') RETURNING cmd`).pluck().all() as string[]
  const rivals = db.prepare(`SELECT ingest_seq, cmd FROM entries e WHERE EXISTS (SELECT 1 FROM entries p WHERE p.entry_id = e.entry_id
      AND (p.trust <> 2, p.origin = '', p.ingest_seq) < (e.trust <> 2, e.origin = '', e.ingest_seq))`).all() as Array<{ ingest_seq: number, cmd: string }>
  const toRival = db.prepare("UPDATE entries SET rival_of = entry_id, entry_id = entry_id || '/' || origin WHERE ingest_seq = ?")
  for (const r of rivals) {
    toRival.run(r.ingest_seq)
    cmds.push(r.cmd)
  }
  if (cmds.length > 0) {
    // command_latest points at rows by entry_id: derive the rows of these commands again.
    const drop = db.prepare('DELETE FROM command_latest WHERE cmd = ?')
    for (const cmd of new Set(cmds)) drop.run(cmd)
    db.prepare(`INSERT INTO command_latest (ts, device_id, entry_id, cmd)
        SELECT ts, device_id, entry_id, cmd FROM entries WHERE cmd IN (SELECT value FROM json_each(?))
        ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
          WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id)`)
      .run(JSON.stringify([...new Set(cmds)]))
  }
  db.exec(`CREATE UNIQUE INDEX entries_entry_id ON entries (entry_id);
    DROP INDEX IF EXISTS entries_entry_origin;`)
}

export const schemaVersion = migrations[migrations.length - 1]!.version

export class SchemaTooNewError extends RustoryError {
  static override readonly name = 'SchemaTooNewError'
  override readonly name = 'SchemaTooNewError'
  constructor (readonly path: string, readonly found: number) {
    super(`database ${path} has schema version ${found}, newer than this rustory understands (${schemaVersion}); upgrade rustory`)
  }
}

/**
 * The last user_version rustory 0.1.0 (cf546e7) knows: it refuses a file whose user_version is higher, even in a
 * worker thread it starts long after the file was migrated under it.
 */
const compatibleVersion = 5

/**
 * user_version is the oldest schema a process must know to use the file; the schema version reached is kept in
 * schema_level. Migrations from 6 on keep every statement of the releases before them working (columns with
 * defaults, new tables and indexes), so they leave user_version at 5 and a running rustory 0.1.0 keeps opening the
 * file. A migration that breaks older statements must make this return its own number from then on (none does yet).
 */
function requiredVersion (level: number): number {
  return Math.min(level, compatibleVersion)
}

/** The schema version this file has reached (user_version below 5 is authoritative: migrations 1-5 set it). */
export function schemaLevel (db: Database): number {
  const required = db.pragma('user_version', { simple: true }) as number
  if (required < compatibleVersion) return required
  let level = 0
  try {
    level = (db.prepare('SELECT version FROM schema_level').pluck().get() as number | undefined) ?? 0
  } catch (err) {
    if (!/no such table/.test((err as Error).message)) throw err
  }
  return Math.max(required, level)
}

/**
 * Brings the database up to schemaVersion. Safe to call from many processes at once, and beside a running older
 * rustory (see requiredVersion). A file at a higher level that this rustory can still use is used as it is.
 */
export function migrate (db: Database, path: string): void {
  const required = db.pragma('user_version', { simple: true }) as number
  if (required > schemaVersion) throw new SchemaTooNewError(path, required)
  if (schemaLevel(db) >= schemaVersion) return
  // BEGIN IMMEDIATE takes the write lock first, so two processes never run the same migration twice.
  const run = db.transaction(() => {
    const now = schemaLevel(db)
    if (now >= schemaVersion) return
    for (const m of migrations) {
      if (m.version <= now) continue
      for (const { table, column, decl } of m.addColumns ?? []) {
        const present = (db.pragma(`table_info(${table})`) as Array<{ name: string }>).some((c) => c.name === column)
        if (!present) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${decl}`)
      }
      db.exec(m.sql)
      m.run?.(db)
    }
    db.exec('CREATE TABLE IF NOT EXISTS schema_level (version INTEGER NOT NULL); DELETE FROM schema_level')
    db.prepare('INSERT INTO schema_level (version) VALUES (?)').run(schemaVersion)
    db.pragma(`user_version = ${requiredVersion(schemaVersion)}`)
  })
  run.immediate()
}
