/** The HTTP debug transport: `rr http-serve` and the HttpTransport that `rr http-sync` hands to the sync engine. */
export { encodePushAck } from '../protocol/messages.js'
export { startHttpServer, type HttpServer, type HttpServerInit, type HttpServerComponents } from './server.js'
export { HttpTransport, normalizeBaseUrl, type HttpTransportInit } from './transport.js'
export { parseBind, httpUrl, BindError, type BindAddress } from './server-util.js'
