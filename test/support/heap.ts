/** The highest heap (with buffers) seen while `work` runs, above where it started. */
export async function heapGrowthDuring(work: () => Promise<unknown>): Promise<number> {
  const usage = () => {
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers
  }
  const start = usage()
  let peak = start
  const sampler = setInterval(() => (peak = Math.max(peak, usage())), 2)
  try {
    await work()
  } finally {
    clearInterval(sampler)
  }
  return peak - start
}
