/** The tracker: HTTP discovery server (`rr tracker-serve`) and its client (register, list peers, retries). */
export { startTrackerServer, type TrackerServer, type TrackerServerInit, type TrackerServerComponents } from './server.js'
export { TrackerClient, register, listPeers, ping, normalizeTrackerUrl, type TrackerRequestOptions, type ListPeersOptions } from './client.js'
export { defaultRetryPolicy, decideRetry, isRetryable, attemptTimeoutMs, retryDelayMs, type RetryPolicy, type AttemptOutcome, type RetryDecision } from './retry.js'
export { tokenMatches, isAuthorized } from './auth.js'
export { PeerRegistry } from './registry.js'
export {
  TrackerError, isPlausiblePeerId, observedAddr, maxAddrs, maxRegisterBodyBytes,
  type PeerMeta, type PeerRecord, type RegisterRequest, type RegisterResponse, type ListPeersResponse
} from './types.js'
