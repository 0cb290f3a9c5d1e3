/** What was read of an answer's body, and whether that was all of it. */
export interface BoundedBody {
  text: string
  complete: boolean
}

/**
 * Reads an HTTP answer's body up to `maxBytes`, keeping its chunks and
 * joining them once; past the bound the rest is cancelled unread, so a
 * tracker that streams a gigabyte costs `maxBytes`. Time is bounded by the
 * request's own abort signal, which covers the body too: a body that never
 * ends rejects when it fires.
 */
export async function readBounded(response: Response, maxBytes: number): Promise<BoundedBody> {
  const body = response.body
  if (!body) return { text: '', complete: true }
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return { text: Buffer.concat(chunks).toString('utf8'), complete: true }
    const room = maxBytes - size
    if (value.length > room) {
      chunks.push(value.subarray(0, room))
      // the rest stays unread: the connection is dropped rather than drained
      void reader.cancel().catch(() => undefined)
      return { text: Buffer.concat(chunks).toString('utf8'), complete: false }
    }
    chunks.push(value)
    size += value.length
  }
}
