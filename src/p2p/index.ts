/**
 * The libp2p layer of rustory: nodes, the sync protocol handlers, and the SyncTransport that talks to them.
 * Import this (it loads the Promise.withResolvers polyfill first).
 */
import '../polyfill.js'

export { createPeerNode, createRelayNode, listenOnRelay, confirmObservedAddr, announcedAddrs, pnetCipher, checkInternals, Libp2pInternalsError } from './node.js'
export type { PeerNode, PeerNodeInit, RelayNode, RelayNodeInit } from './node.js'
export { serveSync } from './handlers.js'
export { serveTombstones } from './tombstone-handlers.js'
export { encodePushAck } from '../protocol/messages.js'
export type { ServeSyncInit } from './handlers.js'
export { P2PTransport, dialDirect, dialRelay, peerIdOf, isRelayed } from './transport.js'
export type { DialOptions, Dialed, P2PTransportInit } from './transport.js'
export { loadOrCreateSwarmKey, loadSwarmKey, loadOrCreateIdentity, KeyFileError } from '../config/keys.js'
export type { SwarmKey, Identity } from '../config/keys.js'
