// Builds the e2e fixture packages (e2e/fixtures/) into sdists with the local builder image,
// so nothing on the host needs Python, setuptools or a compiler.
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { docker } from './docker.js'
import { REGISTRY } from './registry.js'

export type FixtureName = 'service' | 'derived'

/** The seed's brewblox-service → brewblox-devcon-spark, in miniature: each has a C extension. */
export const FIXTURES = {
  service: { project: 'wsa-service', module: 'wsa_service' },
  derived: { project: 'wsa-derived', module: 'wsa_derived' }
} as const satisfies Record<FixtureName, { project: string; module: string }>

/** Full image (python3, pip, setuptools, wheel, compilers) used to build sdists. */
export const BUILDER_IMAGE = `${REGISTRY}/python:3.11`

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url))

/** Where a fixture keeps its version: the one place, read by setup.py and the package. */
function versionFile(name: FixtureName): string {
  return path.join(FIXTURES[name].module, '_version.py')
}

/** The version a fixture builds at unless `buildFixtureDist` is given another. */
export async function fixtureVersion(name: FixtureName): Promise<string> {
  const text = await readFile(path.join(FIXTURES_DIR, name, versionFile(name)), 'utf8')
  const m = /__version__ = '([^']+)'/.exec(text)
  if (!m?.[1]) throw new Error(`No __version__ in ${versionFile(name)} of fixture ${name}`)
  return m[1]
}

/**
 * Builds fixture `name`'s sdist into `outDir` (created if missing; other files there are kept,
 * so a `derived` dist dir can also hold the service sdist) and returns the new file names.
 * `version` rewrites the fixture's version in a scratch copy, e.g. to bump a dependency.
 */
export async function buildFixtureDist(
  name: FixtureName,
  outDir: string,
  opts: { version?: string } = {}
): Promise<string[]> {
  if (opts.version !== undefined && !/^[0-9][0-9A-Za-z.+-]*$/.test(opts.version)) {
    throw new Error(`buildFixtureDist: version "${opts.version}" is not a PEP 440 version`)
  }
  // A scratch copy: the build writes egg-info next to setup.py, and the repo stays untouched.
  const stage = await mkdtemp(path.join(tmpdir(), `wsa-fixture-${name}-`))
  try {
    const src = path.join(stage, 'src')
    await cp(path.join(FIXTURES_DIR, name), src, {
      recursive: true,
      filter: (p) => !/(\.egg-info|__pycache__|[/\\](build|dist))$/.test(p)
    })
    if (opts.version !== undefined) {
      await writeFile(path.join(src, versionFile(name)), `__version__ = '${opts.version}'\n`)
    }
    // Run as the host user so the scratch files it writes can be deleted without root.
    const uid = process.getuid?.()
    const user = uid === undefined || uid === 0 ? [] : ['--user', `${uid}:${process.getgid?.()}`]
    await docker([
      'run',
      '--rm',
      '--platform',
      'linux/amd64',
      ...user,
      '-e',
      'HOME=/tmp',
      '-v',
      `${src}:/src`,
      '-w',
      '/src',
      BUILDER_IMAGE,
      'python3',
      'setup.py',
      '-q',
      'sdist',
      '--dist-dir',
      '/src/wsa-sdist'
    ])
    const built = await readdir(path.join(src, 'wsa-sdist'))
    if (built.length === 0) throw new Error(`setup.py sdist of fixture ${name} produced no file`)
    // Copied out by this process, so the files in outDir belong to the host user.
    await mkdir(outDir, { recursive: true })
    for (const file of built)
      await copyFile(path.join(src, 'wsa-sdist', file), path.join(outDir, file))
    return built
  } finally {
    await rm(stage, { recursive: true, force: true })
  }
}
