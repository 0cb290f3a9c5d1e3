/**
 * Thrown by `createFaultline` for a bad option: the message names the field,
 * what it expected and what it got.
 *
 * @example
 * ```ts
 * try { createFaultline({ managers: 'ops' as never }) }
 * catch (err) { if (err instanceof FaultlineConfigError) console.error(err.field) } // 'managers'
 * ```
 */
export class FaultlineConfigError extends Error {
  override readonly name = 'FaultlineConfigError'
  /** Read by shape, as Node's own errors: the same for every bad option. */
  readonly code = 'FAULTLINE_CONFIG'
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
  }
}
