/**
 * How a row's wire entry_id and origin are read. Its own module so that readers (the ctrl+r bundle) get them
 * without the write side.
 */

/** The wire entry_id of a row (schema v7): a rival copy is stored as `<entry_id>/<origin>` with rival_of set. */
export const wireIdSql = 'COALESCE(rival_of, entry_id)'

/**
 * The origin of a row (schema 13): a row verified against a chunk manifest and carrying no signature of its own is
 * stored with origin '' and its chunk's origin is its own, kept once in `chunks` rather than 52 bytes on every row
 * (about 7 % of what a received entry takes on disk, and of the time to store it). Every other row has its own:
 * '' when unsigned, the signer's PeerId when signed alone or here (those rows carry `sig`, and the 2.0.0 form
 * serves the two together). `table` names the entries table in the statement.
 */
export function rowOriginSql (table = 'entries'): string {
  return `CASE WHEN ${table}.origin = '' AND ${table}.chunk IS NOT NULL THEN (SELECT c.origin FROM chunks c WHERE c.id = ${table}.chunk) ELSE ${table}.origin END`
}
