/**
 * Whether this process opened an engine (commands/engine.ts's withEngine). The full CLI exports it to
 * the launcher (main.ts → launch.ts), whose code cache keeps the compiled code of the run that
 * compiled the most. A module of its own so that main.ts can export it without loading the engine.
 */
let opened = false;

export function markEngineOpened(): void {
  opened = true;
}

export function engineOpened(): boolean {
  return opened;
}
