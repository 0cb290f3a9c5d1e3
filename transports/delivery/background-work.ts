/**
 * Promises started off the request path (store calls, sends): each is
 * settled so nothing escapes into the app, its first failure is said once
 * (a store that is down fails every call), and all of them can be awaited
 * at shutdown.
 */
export class BackgroundWork {
  readonly #pending = new Set<Promise<void>>()
  #failureSaid = false

  constructor(private readonly sayFailure: (err: unknown) => void) {}

  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => {},
      (err: unknown) => this.failed(err),
    )
    this.#pending.add(settled)
    void settled.then(() => this.#pending.delete(settled))
  }

  /** Says a failure, the first one only. */
  failed(err: unknown): void {
    if (this.#failureSaid) return
    this.#failureSaid = true
    this.sayFailure(err)
  }

  /** Whether anything tracked is still under way. */
  get busy(): boolean {
    return this.#pending.size > 0
  }

  /** Resolves once everything tracked so far has settled. */
  async settled(): Promise<void> {
    await Promise.all(this.#pending)
  }
}
