// The shape of a stack frame, shared by the parser, the source-map reader and the context reader
// beneath source-context.ts, so none of them imports the module that assembles them.
/**
 * Where a frame's code comes from; the page uses it to fold away frames the user did not write.
 *
 * @example
 * ```ts
 * const mine = getStackFrames(err.stack).filter((f) => f.origin === ('app' satisfies FrameOrigin))
 * ```
 */
export type FrameOrigin = 'app' | 'dependency' | 'node'

/**
 * One line of source shown around a frame; `current` marks the frame's own line.
 *
 * @example
 * ```ts
 * const html = frame.context?.map((l: SourceLine) => `${l.current ? '>' : ' '} ${l.line} | ${l.text}`).join('\n')
 * ```
 */
export interface SourceLine {
  line: number
  text: string
  current: boolean
}

/**
 * One parsed, and when possible source-mapped, V8 stack frame.
 *
 * @example
 * ```ts
 * const [top]: StackFrame[] = getStackFrames(err.stack)
 * if (top?.mapped) console.log(`thrown at ${top.file}:${top.line} (original source)`)
 * ```
 */
export interface StackFrame {
  /** '' when anonymous; an `async ` prefix is moved into {@link StackFrame.async}. */
  functionName: string
  async: boolean
  /** Absolute path (file:// URLs converted), `node:…` as given, or markers such as `<anonymous>`. */
  file: string
  /** 1-based; the original source's line when a source map applied. */
  line?: number
  /** 1-based; the original source's column when a source map applied. */
  column?: number
  origin: FrameOrigin
  /** True when a source map moved the location from generated JS to the original source. */
  mapped: boolean
  /** Up to `radius` lines either side of `line`; undefined when the source is unreadable. */
  context?: SourceLine[]
}
