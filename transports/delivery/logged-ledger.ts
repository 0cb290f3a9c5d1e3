/** What a ledger announces through: the transport itself. */
interface Announcer {
  listenerCount(event: string): number
  emit(event: string, ...args: unknown[]): boolean
}

// past this many infos waiting, later ones are not announced: a storm must not grow memory for a listener
const MAX_HELD = 10_000

/**
 * Keeps winston's `logged` contract for transports whose units are not the
 * infos they were given: a mail or a ticket carries one report and counts
 * others into a digest or a comment. Infos gather under a group (their
 * fingerprint), are carried by the unit that goes out for the group, and are
 * announced as `logged` when that unit is delivered. Nothing is held while
 * nobody listens to `logged`, so the contract costs nothing unless it is used.
 *
 * @example
 * ```ts
 * ledger.gather(report.fingerprint, info)         // counted, not yet sent
 * ledger.carry(mail.messageId, [report.fingerprint]) // the digest that counts it is queued
 * ledger.delivered(mail.messageId)                // → emit('logged', info)
 * ```
 */
export class LoggedLedger {
  readonly #gathering = new Map<string, unknown[]>()
  readonly #carried = new Map<string, unknown[]>()
  #held = 0

  constructor(private readonly transport: Announcer) {}

  /** An info waits under its group until a unit carries it. */
  gather(group: string, info: unknown): void {
    if (this.#held >= MAX_HELD || this.transport.listenerCount('logged') === 0) return
    const infos = this.#gathering.get(group)
    if (infos) infos.push(info)
    else this.#gathering.set(group, [info])
    this.#held++
  }

  /** The unit `key` goes out for these groups: what they gathered is announced when it is delivered. */
  carry(key: string, groups: Iterable<string>): void {
    for (const group of groups) {
      const infos = this.#gathering.get(group)
      if (!infos) continue
      this.#gathering.delete(group)
      const carried = this.#carried.get(key)
      if (carried) carried.push(...infos)
      else this.#carried.set(key, infos)
    }
  }

  /** The unit was delivered: every info it carries is `logged`. */
  delivered(key: string): void {
    const infos = this.#take(key)
    if (infos.length)
      setImmediate(() => infos.forEach((info) => this.transport.emit('logged', info)))
  }

  /** The unit will never be delivered (refused, given up): its infos are not announced. */
  forget(key: string): void {
    this.#take(key)
  }

  /** The delivery line's events that settle a unit's infos: delivered announces them, refused or given up forgets them. */
  events(): {
    delivered(key: string): void
    refused(key: string): void
    gaveUp(key: string): void
  } {
    return {
      delivered: (key) => this.delivered(key),
      refused: (key) => this.forget(key),
      gaveUp: (key) => this.forget(key),
    }
  }

  #take(key: string): unknown[] {
    const infos = this.#carried.get(key) ?? []
    this.#carried.delete(key)
    this.#held -= infos.length
    return infos
  }
}
