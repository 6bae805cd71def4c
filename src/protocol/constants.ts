/** Protocol ids and size caps, fixed by the spec. */
const KiB = 1024
const MiB = 1024 * KiB

export const syncPullProtocol = '/rustory/sync-pull/1.0.0'
export const entriesPushProtocol = '/rustory/entries-push/1.0.0'
/** 2.0.0: the same messages, entries may carry origin and sig, which the receiver verifies (docs/PROTOCOL.md). */
export const syncPullProtocolV2 = '/rustory/sync-pull/2.0.0'
export const entriesPushProtocolV2 = '/rustory/entries-push/2.0.0'
/**
 * 3.0.0: as 2.0.0, and entries may instead name a chunk manifest (`k`) their origin signed for many entries at once,
 * carried in the message's `chunks` (docs/PROTOCOL.md, "Chunk signatures (3.0.0)").
 */
export const syncPullProtocolV3 = '/rustory/sync-pull/3.0.0'
export const entriesPushProtocolV3 = '/rustory/entries-push/3.0.0'
/**
 * 4.0.0: as 3.0.0, and a chunk may name by `runs` which entries of the message sit at which places of its manifest:
 * their hashes are left out of its `hashes` (the receiver hashes those entries anyway) and those entries carry no
 * `k` (docs/PROTOCOL.md, "Runs (4.0.0)"). About 50 fewer bytes per signed entry.
 */
export const syncPullProtocolV4 = '/rustory/sync-pull/4.0.0'
export const entriesPushProtocolV4 = '/rustory/entries-push/4.0.0'

export const maxPullRequestBytes = 64 * KiB
export const maxPullResponseBytes = 32 * MiB
export const maxPushRequestBytes = 16 * MiB
export const maxPushResponseBytes = 64 * KiB

/** @default 1000 entries per SyncPull. */
export const defaultPullLimit = 1000
/** The server never returns more than this many entries, whatever the client asks. */
export const maxPullLimit = 100_000

/**
 * Items (entries or tombstones) one message may hold: twice the most any batch or push page is made of (maxPullLimit,
 * the most `--limit` takes). A message of more is refused whole, before any item is looked at: junk items
 * (`[0,0,…]`: 8 million in 16 MiB) cost a receiver seconds of CPU each million.
 */
export const maxItemsPerMessage = 2 * maxPullLimit

/**
 * Tombstones (deleted entry_ids) travel on their own protocols beside the entry ones, so a peer on an older release
 * keeps syncing entries and is only skipped for tombstones. Same framing and caps as sync-pull / entries-push; the
 * cursor is the serving peer's tombstone seq. See docs/PROTOCOL.md, "Tombstones".
 */
export const tombstonePullProtocol = '/rustory/tombstone-pull/1.0.0'
export const tombstonePushProtocol = '/rustory/tombstone-push/1.0.0'
