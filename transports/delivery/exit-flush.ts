/** What is flushed when the process exits. */
export interface FlushesOnExit {
  flushSync(): void
}

// lines a transport still batches when the process exits are written before it goes: 'exit' listeners may only do synchronous work
const open = new Set<FlushesOnExit>()
function flushAllOnExit(): void {
  for (const transport of open) transport.flushSync()
}

/** Has the transport's waiting lines written when the process exits; one exit listener serves every transport. */
export function flushOnExit(transport: FlushesOnExit): void {
  if (open.size === 0) process.on('exit', flushAllOnExit)
  open.add(transport)
}

/** Undoes `flushOnExit`; the exit listener goes with the last transport. */
export function stopFlushingOnExit(transport: FlushesOnExit): void {
  open.delete(transport)
  if (open.size === 0) process.off('exit', flushAllOnExit)
}
