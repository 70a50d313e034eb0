/** daemon/: what other folders may import. */
export type { DaemonOptions } from './server.js';
export { serveDaemon } from './server.js';
