/**
 * The wire entry_id of a row (schema v7): a rival copy is stored as `<entry_id>/<origin>` with rival_of set. Its own
 * module so that readers (the ctrl+r bundle) get it without the write side.
 */
export const wireIdSql = 'COALESCE(rival_of, entry_id)'
