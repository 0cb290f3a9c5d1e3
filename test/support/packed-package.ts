/**
 * The package as npm publishes it, packed once per test run and shared by every test that installs it
 * (the build behind `npm pack` is the slow part), and consumer projects that install it offline: the
 * tarball unpacked into their node_modules, everything else linked from this checkout's node_modules.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

export const run = promisify(execFile)
export const ROOT = process.cwd()
const MAX_BUFFER = 16 * 1024 * 1024

export interface PackedPackage {
  /** A directory of its own, removed when the test process exits. */
  dir: string
  tarball: string
  /** The tarball's files, relative to the package root. */
  files: string[]
}

let packing: Promise<PackedPackage> | undefined

/** The tarball `npm pack` makes, which runs the build (prepare) as publishing does; packed on the first call. */
export function packPackage(): Promise<PackedPackage> {
  packing ??= pack()
  return packing
}

async function pack(): Promise<PackedPackage> {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-package-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', dir], {
    cwd: ROOT,
    maxBuffer: MAX_BUFFER,
  })
  const tarball = join(dir, packed.stdout.trim().split('\n').pop()!)
  const listing = await run('tar', ['tzf', tarball], { maxBuffer: MAX_BUFFER })
  const files = listing.stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''))
  return { dir, tarball, files }
}

export interface ConsumerProject {
  /** Files to write, by path relative to the project; package.json among them. */
  files: Record<string, string>
  /** Packages to link into its node_modules: the name the project uses → the folder under ours. */
  links?: Record<string, string>
}

/**
 * Makes a project in the pack's directory with faultline installed from the tarball and its dependencies
 * linked, as `npm install` would leave them but without the registry; returns its path.
 */
export async function makeConsumer(name: string, project: ConsumerProject): Promise<string> {
  const { dir, tarball } = await packPackage()
  const root = join(dir, name)
  const installed = join(root, 'node_modules', 'faultline')
  mkdirSync(installed, { recursive: true })
  await run('tar', ['xzf', tarball, '-C', installed, '--strip-components=1'])
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>
  }
  const links = { ...linksOf(Object.keys(manifest.dependencies)), ...project.links }
  for (const [linked, folder] of Object.entries(links)) {
    const at = join(root, 'node_modules', linked)
    mkdirSync(dirname(at), { recursive: true })
    symlinkSync(join(ROOT, 'node_modules', folder), at, 'dir')
  }
  for (const [path, text] of Object.entries(project.files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

/** Links under their own names. */
export function linksOf(names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, name]))
}

/** The path of a binary of this checkout's node_modules. */
export function binary(relative: string): string {
  return join(ROOT, 'node_modules', relative)
}

/** What `attw --format json` reports. */
export interface AttwAnalysis {
  problems: unknown
  analysis: {
    entrypoints: Record<
      string,
      {
        resolutions: Record<
          string,
          { resolution?: { fileName: string }; implementationResolution?: { fileName: string } }
        >
      }
    >
  }
}

/** Per entry point and resolution mode, the declaration file and the code it resolves to. */
export function resolvedFiles({
  entrypoints,
}: AttwAnalysis['analysis']): Record<string, Record<string, string>> {
  const within = (file: string | undefined) =>
    file?.replace('/node_modules/faultline/', '') ?? 'none'
  const entries = Object.entries(entrypoints).filter(([subpath]) => subpath !== './package.json')
  return Object.fromEntries(
    entries.map(([subpath, { resolutions }]) => [
      subpath,
      Object.fromEntries(
        Object.entries(resolutions).map(([mode, found]) => [
          mode,
          `${within(found.resolution?.fileName)} → ${within(found.implementationResolution?.fileName)}`,
        ]),
      ),
    ]),
  )
}
