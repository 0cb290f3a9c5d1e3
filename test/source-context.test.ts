import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import ts from 'typescript'
import { getStackFrames, type StackFrame } from '../lib/source/source-context.js'
import { chargeOrder } from './fixtures/source-context/checkout.js'

const run = promisify(execFile)
const FIXTURES = join(import.meta.dirname, 'fixtures', 'source-context')
const FIXTURE_TS = join(FIXTURES, 'checkout.ts')
const FIXTURE_SOURCE = readFileSync(FIXTURE_TS, 'utf8')
const THROW_LINE =
  FIXTURE_SOURCE.split('\n').findIndex((text) => text.includes('throw new Error')) + 1

function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

function currentLine(frame: StackFrame | undefined): string | undefined {
  return frame?.context?.find((line) => line.current)?.text
}

interface Compiled {
  /** The compiled .js, which the child process imports. */
  js: string
  /** Where the map says the original .ts lives. */
  ts: string
}

/** Transpiles the fixture like a build step would, into `dir`, and returns where things went. */
function compile(
  dir: string,
  options: ts.CompilerOptions,
  layout: { tsOnDisk: boolean; srcDir?: string },
): Compiled {
  const outDir = join(dir, 'out')
  const srcDir = join(dir, layout.srcDir ?? 'out')
  mkdirSync(outDir, { recursive: true })
  mkdirSync(srcDir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  const result = ts.transpileModule(FIXTURE_SOURCE, {
    fileName: 'checkout.ts',
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, ...options },
  })
  const js = join(outDir, 'checkout.js')
  // transpileModule names the map "checkout.js.map" in the comment, which is where it goes.
  writeFileSync(js, result.outputText)
  if (result.sourceMapText !== undefined) writeFileSync(`${js}.map`, result.sourceMapText)
  const tsPath = join(srcDir, 'checkout.ts')
  if (layout.tsOnDisk) writeFileSync(tsPath, FIXTURE_SOURCE)
  return { js, ts: tsPath }
}

/** Throws from the compiled module in plain node and returns the stack it printed. */
async function stackFromChild(js: string): Promise<string> {
  const env = { ...process.env }
  delete env['NODE_OPTIONS']
  const { stdout } = await run(process.execPath, [join(FIXTURES, 'print-stack.mjs'), js], { env })
  const printed = JSON.parse(stdout) as { stack: string; sourceMapsEnabled: boolean }
  // Guards the test itself: if node had mapped the stack, there would be nothing left for us to map.
  expect(printed.sourceMapsEnabled).to.equal(false)
  expect(printed.stack).to.include(pathToFileURL(js).href)
  return printed.stack
}

describe('getStackFrames', () => {
  describe('with a real error under tsx', () => {
    it('should point at the throw line of the .ts source and show it as current', () => {
      const frames = getStackFrames(thrown(() => chargeOrder({ id: 'o-1', total: 10 })).stack)
      const frame = frames.find((f) => f.file === FIXTURE_TS)
      expect(frame, JSON.stringify(frames.map((f) => f.file))).to.not.equal(undefined)
      expect(frame).to.include({
        functionName: 'chargeOrder',
        origin: 'app',
        line: THROW_LINE,
        async: false,
      })
      expect(currentLine(frame)).to.equal(FIXTURE_SOURCE.split('\n')[THROW_LINE - 1])
      expect(frame?.context?.map((l) => l.line)).to.deep.equal([
        THROW_LINE - 3,
        THROW_LINE - 2,
        THROW_LINE - 1,
        THROW_LINE,
        THROW_LINE + 1,
      ])
    })

    it('should show `radius` lines around the current one', () => {
      const [frame] = getStackFrames(thrown(() => chargeOrder({ id: 'o-1', total: 10 })).stack, {
        radius: 1,
      })
      expect(frame?.context?.map((l) => [l.line, l.current])).to.deep.equal([
        [THROW_LINE - 1, false],
        [THROW_LINE, true],
        [THROW_LINE + 1, false],
      ])
    })

    it('should mark the test runner and node frames by origin', () => {
      const frames = getStackFrames(thrown(() => chargeOrder({ id: 'o-1', total: 10 })).stack, {
        maxFrames: 100,
      })
      expect(
        frames.some((f) => f.origin === 'dependency' && f.file.includes('/node_modules/mocha/')),
      ).to.equal(true)
      for (const frame of frames.filter((f) => f.origin === 'node')) {
        expect(frame.file).to.match(/^node:/)
        expect(frame.context).to.equal(undefined)
      }
    })
  })

  describe('with compiled JavaScript and a source map', () => {
    let dir: string
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'faultline-source-context-'))
    })
    afterEach(() => rmSync(dir, { recursive: true, force: true }))

    async function mappedFrame(compiled: Compiled): Promise<StackFrame | undefined> {
      const stack = await stackFromChild(compiled.js)
      const frames = getStackFrames(stack, { root: dir })
      const unmapped = /checkout\.js:(\d+):\d+/.exec(stack)
      // The whole point: the generated line is not the original one.
      expect(Number(unmapped?.[1])).to.not.equal(THROW_LINE)
      return frames.find((f) => f.functionName.endsWith('chargeOrder'))
    }

    it('should map a .js frame to the .ts beside it through a .js.map file', async () => {
      const compiled = compile(dir, { sourceMap: true }, { tsOnDisk: true })
      const frame = await mappedFrame(compiled)
      expect(frame).to.include({ mapped: true, file: compiled.ts, line: THROW_LINE, origin: 'app' })
      expect(frame?.column).to.be.a('number')
      expect(currentLine(frame)).to.include('throw')
    })

    it('should map through an inline base64 source map', async () => {
      const compiled = compile(dir, { inlineSourceMap: true }, { tsOnDisk: true })
      expect(readFileSync(compiled.js, 'utf8')).to.include(
        'sourceMappingURL=data:application/json;base64,',
      )
      const frame = await mappedFrame(compiled)
      expect(frame).to.include({ mapped: true, file: compiled.ts, line: THROW_LINE })
      expect(currentLine(frame)).to.include('throw')
    })

    it('should show context from sourcesContent when the .ts is not on disk', async () => {
      const compiled = compile(dir, { sourceMap: true, inlineSources: true }, { tsOnDisk: false })
      const frame = await mappedFrame(compiled)
      expect(frame).to.include({ mapped: true, line: THROW_LINE })
      expect(frame?.file.endsWith('checkout.ts')).to.equal(true)
      expect(currentLine(frame)).to.include('throw')
    })

    it('should honour sourceRoot when the sources live in another directory', async () => {
      const compiled = compile(
        dir,
        { sourceMap: true, sourceRoot: '../src' },
        { tsOnDisk: true, srcDir: 'src' },
      )
      const frame = await mappedFrame(compiled)
      expect(frame).to.include({ mapped: true, file: compiled.ts, line: THROW_LINE })
      expect(currentLine(frame)).to.include('throw')
    })

    it('should fall back to the .js itself when the map is missing', async () => {
      const compiled = compile(dir, { sourceMap: true }, { tsOnDisk: true })
      rmSync(`${compiled.js}.map`)
      const frame = await mappedFrame(compiled)
      expect(frame).to.include({ mapped: false, file: compiled.js })
      expect(currentLine(frame)).to.include('throw')
    })
  })

  describe('with hand-written stacks', () => {
    let dir: string
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'faultline-source-context-'))
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    it('should parse every V8 frame shape', () => {
      const frames = getStackFrames(
        [
          'TypeError: boom',
          '    at fn (/abs/file.js:10:5)',
          '    at /abs/file.js:11:6',
          '    at async handle (file:///abs/dir%20x/file.js:12:7)',
          '    at new Foo (/x.js:1:2)',
          '    at Object.<anonymous> (/x.js:3:4)',
          '    at <anonymous> (/x.ts:5:6)',
          '    at eval (eval at run (/abs/file.js:1:1), <anonymous>:1:1)',
        ].join('\n'),
      )
      expect(
        frames.map(({ functionName, async, file, line, column }) => ({
          functionName,
          async,
          file,
          line,
          column,
        })),
      ).to.deep.equal([
        { functionName: 'fn', async: false, file: '/abs/file.js', line: 10, column: 5 },
        { functionName: '', async: false, file: '/abs/file.js', line: 11, column: 6 },
        { functionName: 'handle', async: true, file: '/abs/dir x/file.js', line: 12, column: 7 },
        { functionName: 'new Foo', async: false, file: '/x.js', line: 1, column: 2 },
        { functionName: 'Object.<anonymous>', async: false, file: '/x.js', line: 3, column: 4 },
        { functionName: '', async: false, file: '/x.ts', line: 5, column: 6 },
        {
          functionName: 'eval',
          async: false,
          file: 'eval at run (/abs/file.js:1:1), <anonymous>:1:1',
          line: undefined,
          column: undefined,
        },
      ])
      expect(frames.every((f) => f.context === undefined)).to.equal(true)
    })

    it('should call node: and internal/ frames node and never read them', () => {
      const frames = getStackFrames(
        [
          '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
          '    at EventEmitter.emit (node:events:517:28)',
          '    at Module._compile (internal/modules/cjs/loader.js:1:2)',
        ].join('\n'),
      )
      expect(frames.map((f) => [f.origin, f.file, f.line, f.context])).to.deep.equal([
        ['node', 'node:internal/process/task_queues', 95, undefined],
        ['node', 'node:events', 517, undefined],
        ['node', 'internal/modules/cjs/loader.js', 1, undefined],
      ])
    })

    it('should call node_modules frames dependency and show their source', () => {
      const file = join(dir, 'node_modules', 'left-pad', 'index.js')
      mkdirSync(join(dir, 'node_modules', 'left-pad'), { recursive: true })
      writeFileSync(file, 'module.exports = function leftPad(s) {\n  throw new Error("no")\n}\n')
      const [frame] = getStackFrames(`Error: no\n    at leftPad (${file}:2:9)`, { root: dir })
      expect(frame).to.include({ origin: 'dependency', file, mapped: false })
      expect(currentLine(frame)).to.equal('  throw new Error("no")')
    })

    it("should count <anonymous> built-in frames as Node's, with no line and no context", () => {
      const [frame] = getStackFrames('Error: x\n    at Array.map (<anonymous>)')
      expect(frame).to.deep.equal({
        functionName: 'Array.map',
        async: false,
        file: '<anonymous>',
        origin: 'node',
        mapped: false,
      })
    })

    it('should keep a frame whose file is missing or unreadable, without context', () => {
      const binary = join(dir, 'binary.js')
      writeFileSync(binary, Buffer.from([0x61, 0x00, 0x62, 0x0a]))
      const big = join(dir, 'big.js')
      writeFileSync(big, `x\n${'/'.repeat(3 * 1024 * 1024)}\n`)
      const frames = getStackFrames(
        [
          `    at gone (${join(dir, 'missing.js')}:1:1)`,
          `    at dir (${dir}:1:1)`,
          `    at bin (${binary}:1:1)`,
          `    at big (${big}:1:1)`,
          '    at past (' + join(dir, 'binary.js') + ':99:1)',
        ].join('\n'),
        { root: dir },
      )
      expect(frames.map((f) => f.functionName)).to.deep.equal(['gone', 'dir', 'bin', 'big', 'past'])
      expect(frames.map((f) => f.context)).to.deep.equal([
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ])
    })

    it('should cut very long source lines', () => {
      const file = join(dir, 'minified.js')
      writeFileSync(file, `${'a'.repeat(2000)}\n`)
      const [frame] = getStackFrames(`    at x (${file}:1:1)`, { root: dir })
      const text = currentLine(frame) ?? ''
      expect(text.endsWith('…')).to.equal(true)
      expect(text.length).to.be.at.most(501)
    })

    it('should show edited source, not a stale cached copy', () => {
      const file = join(dir, 'edited.js')
      writeFileSync(file, 'first\n')
      expect(currentLine(getStackFrames(`    at x (${file}:1:1)`, { root: dir })[0])).to.equal(
        'first',
      )
      writeFileSync(file, 'second version\n')
      expect(currentLine(getStackFrames(`    at x (${file}:1:1)`, { root: dir })[0])).to.equal(
        'second version',
      )
    })

    it('should skip message lines and "... more frames" lines', () => {
      const frames = getStackFrames(
        'Error: a\n  with a second message line\n    at f (/x.js:1:1)\n    ... 4 more frames\n',
      )
      expect(frames.map((f) => f.functionName)).to.deep.equal(['f'])
    })

    it('should honour maxFrames, defaulting to 50', () => {
      const stack = `Error: deep\n${Array.from({ length: 120 }, (_, i) => `    at f${i} (node:internal/x:${i + 1}:1)`).join('\n')}`
      expect(getStackFrames(stack)).to.have.length(50)
      expect(getStackFrames(stack, { maxFrames: 5 }).map((f) => f.functionName)).to.deep.equal([
        'f0',
        'f1',
        'f2',
        'f3',
        'f4',
      ])
      expect(getStackFrames(stack, { maxFrames: 0 })).to.deep.equal([])
      expect(getStackFrames(stack, { maxFrames: Number.NaN })).to.have.length(50)
    })

    it('should never throw on malformed input', () => {
      const megabyte = 1024 * 1024
      const inputs: unknown[] = [
        undefined,
        '',
        'garbage',
        null,
        42,
        { stack: 'x' },
        'x'.repeat(megabyte),
        `    at ${'('.repeat(megabyte)}`,
        `    at f (${':1'.repeat(megabyte / 2)})`,
        '    at f (/x.js:1:1)\n'.repeat(megabyte / 20),
        '    at \n    at ()\n    at (:)\n    at f (file://%%%/x.js:1:1)\n    at f (/x.js:0:0)',
      ]
      for (const input of inputs) {
        const started = Date.now()
        expect(() => getStackFrames(input as string)).to.not.throw()
        expect(Date.now() - started).to.be.below(1000)
      }
      expect(getStackFrames(undefined)).to.deep.equal([])
      expect(getStackFrames('garbage')).to.deep.equal([])
    })
  })
})
