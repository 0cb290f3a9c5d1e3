/**
 * Reads a contender's log file after it closed: how many lines, how many
 * carry each marker, and (for faultline) the incident ids. Streamed, so a
 * storm's log of hundreds of megabytes is read in bounded memory.
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

export interface LineCount {
  lines: number
  /** Lines containing each marker, by the marker's name. */
  marked: Record<string, number>
  /** Distinct values captured by `idPattern`'s first group. */
  ids: Set<string>
}

export async function countLines(
  path: string,
  markers: Record<string, string>,
  idPattern?: RegExp,
): Promise<LineCount> {
  const result: LineCount = {
    lines: 0,
    marked: Object.fromEntries(Object.keys(markers).map((k) => [k, 0])),
    ids: new Set(),
  }
  let input
  try {
    input = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })
    await new Promise<void>((resolve, reject) => {
      input!.once('open', () => resolve())
      input!.once('error', reject)
    })
  } catch {
    return result
  }
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line === '') continue
    result.lines++
    for (const [name, marker] of Object.entries(markers))
      if (line.includes(marker)) result.marked[name]!++
    if (idPattern) {
      const id = idPattern.exec(line)?.[1]
      if (id) result.ids.add(id)
    }
  }
  return result
}
