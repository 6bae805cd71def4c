/**
 * Private files: the history database (and its -wal/-shm), the record spool, config.toml and every key are 0600,
 * their directories 0700. Existing installations are tightened when rustory next opens them. Tightening only ever
 * removes the group and other bits: a file the user made stricter (0400) stays so, and nothing is loosened.
 * Files and directories another user owns are left alone (chmod would fail, and they are not ours to change).
 * A directory is tightened only when it is rustory's own (named `.rustory` or `rustory`, or a `-spool`): a database
 * put in /tmp or in $HOME must not change the mode of /tmp or of the home directory.
 */
import { basename, join } from 'node:path'
import { RustoryError } from '../core/errors.js'

// node:fs through process.getBuiltinModule, as settings.ts: config.toml is checked on every `rr record`.
const { chmodSync, closeSync, lstatSync, openSync, readdirSync, statSync } = process.getBuiltinModule('node:fs')

export const privateFileMode = 0o600
export const privateDirMode = 0o700
const groupOther = 0o077

export interface LooseFile {
  path: string
  /** The mode found, e.g. 0o644. */
  mode: number
  kind: 'file' | 'dir'
}

function myUid (): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined
}

/** The current mode (permission bits) of a path we own, or undefined when it is missing, a symlink or not ours. */
function ownMode (path: string): { mode: number, dir: boolean } | undefined {
  try {
    const st = lstatSync(path)
    if (st.isSymbolicLink()) return undefined
    const uid = myUid()
    if (uid != null && st.uid !== uid) return undefined
    return { mode: st.mode & 0o7777, dir: st.isDirectory() }
  } catch {
    return undefined
  }
}

/**
 * A file or directory of the database (itself, -wal, -shm, the spool, the daemon's lock) that another user owns, or a
 * link to one: in a directory others can write to (/tmp), they may have made it first, to read the commands written
 * there or to plant their own, which would be stored, signed and synced as this device's.
 */
export class ForeignFileError extends RustoryError {
  static override readonly name = 'ForeignFileError'
  override readonly name = 'ForeignFileError'
  constructor (readonly path: string, readonly owner: number) {
    super(`${path} belongs to another user (uid ${owner}), who could read or change your history through it: keep the database in a directory only you can write to (the default is ~/.rustory/history.db), or remove that file`, { permanent: true })
  }
}

/** The uid of another user owning `path`, or what it links to; undefined when it is missing or all ours. */
export function foreignOwner (path: string): number | undefined {
  const uid = myUid()
  if (uid == null) return undefined
  let st
  try {
    st = lstatSync(path)
  } catch {
    return undefined
  }
  if (st.uid !== uid) return st.uid
  if (!st.isSymbolicLink()) return undefined
  try {
    const target = statSync(path)
    return target.uid !== uid ? target.uid : undefined
  } catch {
    return undefined
  }
}

/** Throws ForeignFileError for the first of these paths that exists and is another user's (see foreignOwner). */
export function refuseForeign (paths: readonly string[]): void {
  for (const path of paths) {
    const owner = foreignOwner(path)
    if (owner != null) throw new ForeignFileError(path, owner)
  }
}

/** The database's own files and directories that must be this user's (the spool's files are checked as drained). */
export function databaseOwnPaths (dbPath: string): string[] {
  const spool = `${dbPath}-spool` // spoolSuffix in src/store/spool-files.ts
  return [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, `${dbPath}-journal`, spool, join(spool, 'pending'), `${dbPath}.daemon.lock`, `${dbPath}.daemon.json`]
}

/** True for a directory rustory owns by name, which may be tightened to 0700. */
export function isRustoryDir (path: string): boolean {
  const name = basename(path)
  return name === '.rustory' || name === 'rustory' || name.endsWith('-spool')
}

const tightened: LooseFile[] = []

/** Everything this process tightened so far, with the modes found (for `rr doctor`, which loads settings first). */
export function tightenedSoFar (): readonly LooseFile[] {
  return tightened
}

/** Removes group/other bits from a path we own. Returns the old mode when it changed something. */
export function tighten (path: string): LooseFile | undefined {
  const found = ownMode(path)
  if (found == null || (found.mode & groupOther) === 0) return undefined
  chmodSync(path, found.mode & ~groupOther)
  const change: LooseFile = { path, mode: found.mode, kind: found.dir ? 'dir' : 'file' }
  tightened.push(change)
  return change
}

/** Paths among these (that we own) readable or writable by group or others, without changing them. */
export function looseAmong (paths: readonly string[]): LooseFile[] {
  const out: LooseFile[] = []
  for (const path of paths) {
    const found = ownMode(path)
    if (found != null && (found.mode & groupOther) !== 0) out.push({ path, mode: found.mode, kind: found.dir ? 'dir' : 'file' })
  }
  return out
}

/** Creates an empty file with mode 0600 when it does not exist (SQLite then opens the 0-byte file as a new database). */
export function createPrivateFile (path: string): void {
  try {
    closeSync(openSync(path, 'wx', privateFileMode))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
}

/** The files of a database: itself, -wal, -shm, its spool directory and the spool's files. */
export function databaseFiles (dbPath: string): string[] {
  const files = [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, `${dbPath}-journal`]
  const spool = `${dbPath}-spool` // spoolSuffix in src/store/spool-files.ts
  files.push(spool)
  try {
    for (const name of readdirSync(spool)) files.push(join(spool, name))
  } catch {
    // No spool yet.
  }
  return files
}

/**
 * Tightens a database's files and, when it is rustory's own, its directory. Returns what it changed (for logs and
 * `rr doctor`). Never throws: a file it cannot change stays as it was, and doctor reports it.
 */
export function tightenDatabase (dbPath: string, dir: string): LooseFile[] {
  const changed: LooseFile[] = []
  const paths = [...(isRustoryDir(dir) ? [dir] : []), ...databaseFiles(dbPath)]
  for (const path of paths) {
    try {
      const c = tighten(path)
      if (c != null) changed.push(c)
    } catch {
      // Left for doctor to report.
    }
  }
  return changed
}
