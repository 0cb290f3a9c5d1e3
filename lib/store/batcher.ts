/**
 * Gathers items for a few milliseconds (or until there are `maxItems`) and
 * sends them in one call: in a storm, a round trip per batch instead of one
 * per item. Each `add` settles with the batch it went out in.
 */
export class Batcher<T> {
  #items: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }> = []
  #timer: NodeJS.Timeout | undefined
  readonly #sending = new Set<Promise<void>>()

  constructor(
    private readonly send: (items: T[]) => Promise<unknown>,
    private readonly maxMs: number,
    private readonly maxItems: number,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#items.push({ item, resolve, reject })
      if (this.#items.length >= this.maxItems) this.#flush()
      else this.#timer ??= setTimeout(() => this.#flush(), this.maxMs)
    })
  }

  #flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const batch = this.#items
    this.#items = []
    const sent = this.send(batch.map((b) => b.item)).then(
      () => batch.forEach((b) => b.resolve()),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    )
    this.#sending.add(sent)
    void sent.finally(() => this.#sending.delete(sent))
  }

  /** Sends what is gathering now and waits for every batch on its way. */
  async drain(): Promise<void> {
    if (this.#items.length) this.#flush()
    await Promise.all([...this.#sending])
  }
}
