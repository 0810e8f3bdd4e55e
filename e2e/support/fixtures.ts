// Builds the e2e fixture packages (e2e/fixtures/) into sdists with the local builder image,
// so nothing on the host needs Python, setuptools or a compiler.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import {
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile
} from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { docker } from './docker.js'
import { REGISTRY } from './registry.js'

export type FixtureName = 'service' | 'derived' | 'app' | 'yaml' | 'yaml-app'

/** The seed's brewblox-service → brewblox-devcon-spark, in miniature: each has a C extension. */
export const FIXTURES = {
  service: { project: 'wsa-service', module: 'wsa_service' },
  derived: { project: 'wsa-derived', module: 'wsa_derived' },
  app: { project: 'wsa-app', module: 'wsa_app' },
  yaml: { project: 'wsa-yaml', module: 'wsa_yaml' },
  'yaml-app': { project: 'wsa-yaml-app', module: 'wsa_yaml_app' }
} as const satisfies Record<FixtureName, { project: string; module: string }>

/** Full image (python3, pip, setuptools, wheel, compilers) used to build sdists. */
export const BUILDER_IMAGE = `${REGISTRY}/python:3.11`

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url))
/** Built sdists by fixture, source hash and version (e2e/.work is gitignored). */
const SDIST_CACHE = fileURLToPath(new URL('../.work/sdists/', import.meta.url))

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
 * Puts fixture `name`'s sdist into `outDir` (created if missing; other files there are kept,
 * so a `derived` dist dir can also hold the service sdist) and returns the file names.
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
  // sdists are not byte-reproducible (tar and gzip mtimes): build each (sources, version) once
  // and hand out the same bytes, so equal inputs give the action equal cache keys.
  const cached = path.join(SDIST_CACHE, `${name}-${await sourceHash(name, opts.version)}`)
  if (!existsSync(cached)) await buildSdist(name, opts.version, cached)
  const files = await readdir(cached)
  // Copied by this process, so the files in outDir belong to the host user.
  await mkdir(outDir, { recursive: true })
  for (const file of files) await copyFile(path.join(cached, file), path.join(outDir, file))
  return files
}

/** Build output and caches that may sit in a fixture dir; neither copied nor hashed. */
function isBuildArtifact(file: string): boolean {
  return /\.egg-info$|^__pycache__$|^(build|dist)$/.test(path.basename(file))
}

async function sourceHash(name: FixtureName, version: string | undefined): Promise<string> {
  const root = path.join(FIXTURES_DIR, name)
  const hash = createHash('sha256').update(`version=${version ?? ''}\0`)
  for (const rel of (await readdir(root, { recursive: true })).sort()) {
    const full = path.join(root, rel)
    if (rel.split(path.sep).some(isBuildArtifact) || !(await stat(full)).isFile()) continue
    hash
      .update(`${rel}\0`)
      .update(await readFile(full))
      .update('\0')
  }
  return hash.digest('hex').slice(0, 16)
}

async function buildSdist(name: FixtureName, version: string | undefined, dest: string) {
  await mkdir(SDIST_CACHE, { recursive: true })
  // A scratch copy: the build writes egg-info next to setup.py, and the repo stays untouched.
  const stage = await mkdtemp(path.join(SDIST_CACHE, `.stage-${name}-`))
  try {
    const src = path.join(stage, 'src')
    await cp(path.join(FIXTURES_DIR, name), src, {
      recursive: true,
      filter: (p) => !isBuildArtifact(p)
    })
    if (version !== undefined) {
      await writeFile(path.join(src, versionFile(name)), `__version__ = '${version}'\n`)
    }
    // Run as the host user so the files it writes can be deleted without root.
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
    const built = path.join(src, 'wsa-sdist')
    if ((await readdir(built)).length === 0) throw new Error(`sdist of ${name} wrote no file`)
    await rename(built, dest)
  } finally {
    await rm(stage, { recursive: true, force: true })
  }
}
