/** daemon/: `tsbuild daemon` (server.ts) and the protocol its clients speak (protocol.ts). */
export type { DaemonOptions } from './server.js';
export { serveDaemon } from './server.js';
export type { WireBuildRequest, WireBuildResult, WireError, WireLine } from './protocol.js';
export {
  WIRE_VERSION,
  daemonSocketPath,
  errorFromWire,
  errorToWire,
  parseBuildRequest,
  secretsOf,
  wireRequest,
} from './protocol.js';
