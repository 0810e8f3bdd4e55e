// Builds the bench fixtures (bench/fixtures/) into sdists with the local builder image, following
// e2e/support/fixtures.ts: nothing on the host needs Python or a compiler, and each
// (sources, version) is built once and its bytes handed out again, since sdists are not
// byte-reproducible. A pure-Python package can also get its `py3-none-any` wheel beside its
// sdist, as `python -m build` writes both into dist/.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import {
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
import { docker } from '../e2e/support/docker.js'
import { BUILDER_IMAGE } from '../e2e/support/fixtures.js'

export const BENCH_FIXTURES = {
  fast1: { project: 'wsb-fast1', module: 'wsb_fast1' },
  fast2: { project: 'wsb-fast2', module: 'wsb_fast2' },
  fast3: { project: 'wsb-fast3', module: 'wsb_fast3' },
  app: { project: 'wsb-app', module: 'wsb_app' },
  mini: { project: 'wsb-mini', module: 'wsb_mini' },
  derived: { project: 'wsb-derived', module: 'wsb_derived' }
} as const
export type BenchFixture = keyof typeof BENCH_FIXTURES

const FIXTURES_DIR = fileURLToPath(new URL('./fixtures/', import.meta.url))

export interface SdistRequest {
  fixture: BenchFixture
  /** Rewrites the fixture's `_version.py` in a scratch copy, e.g. to bump a dependency. */
  version?: string
  /** Also build its wheel (pure-Python packages only), as `python -m build` does. */
  wheel?: boolean
}

export interface Sdist {
  fixture: BenchFixture
  project: string
  version: string
  /** Absolute path of the one .tar.gz. */
  file: string
  /** Absolute path of its one .whl, when the request asked for it. */
  wheel?: string
}

/** The files a release of this package holds: its sdist, and its wheel when it has one. */
export const distFiles = (s: Sdist): string[] => (s.wheel ? [s.file, s.wheel] : [s.file])

const versionFile = (f: BenchFixture): string => path.join(BENCH_FIXTURES[f].module, '_version.py')

/** The version a fixture builds at unless a request says otherwise: its one `_version.py`. */
export async function fixtureVersion(f: BenchFixture): Promise<string> {
  const text = await readFile(path.join(FIXTURES_DIR, f, versionFile(f)), 'utf8')
  const m = /__version__ = '([^']+)'/.exec(text)
  if (!m?.[1]) throw new Error(`No __version__ in bench/fixtures/${f}/${versionFile(f)}`)
  return m[1]
}

const isArtifact = (p: string): boolean =>
  /\.egg-info$|^__pycache__$|^(build|dist)$/.test(path.basename(p))

async function sourceHash(f: BenchFixture, version: string): Promise<string> {
  const root = path.join(FIXTURES_DIR, f)
  const hash = createHash('sha256').update(`version=${version}\0`)
  for (const rel of (await readdir(root, { recursive: true })).sort()) {
    const full = path.join(root, rel)
    if (rel.split(path.sep).some(isArtifact) || !(await stat(full)).isFile()) continue
    hash
      .update(`${rel}\0`)
      .update(await readFile(full))
      .update('\0')
  }
  return hash.digest('hex').slice(0, 16)
}

/**
 * Returns one sdist per request, building the missing ones in a single container run.
 * `cacheDir` keeps them between bench runs (it lives under the git-ignored bench/results/).
 */
export async function buildSdists(requests: SdistRequest[], cacheDir: string): Promise<Sdist[]> {
  await mkdir(cacheDir, { recursive: true })
  const planned = await Promise.all(
    requests.map(async (r) => {
      const version = r.version ?? (await fixtureVersion(r.fixture))
      if (!/^[0-9][0-9A-Za-z.+-]*$/.test(version)) {
        throw new Error(`buildSdists: version "${version}" is not a PEP 440 version`)
      }
      const dir = path.join(
        cacheDir,
        `${r.fixture}-${version}-${await sourceHash(r.fixture, version)}${r.wheel ? '-whl' : ''}`
      )
      return { ...r, version, dir }
    })
  )
  const missing = planned.filter((p) => !existsSync(p.dir))
  if (missing.length > 0) {
    const stage = await mkdtemp(path.join(cacheDir, '.stage-'))
    try {
      const script: string[] = ['set -e']
      for (const [i, m] of missing.entries()) {
        const src = path.join(stage, `src${i}`)
        await cp(path.join(FIXTURES_DIR, m.fixture), src, {
          recursive: true,
          filter: (p) => !isArtifact(p)
        })
        await writeFile(path.join(src, versionFile(m.fixture)), `__version__ = '${m.version}'\n`)
        script.push(`(cd /stage/src${i} && python3 setup.py -q sdist --dist-dir /stage/out${i})`)
        if (m.wheel) {
          // After the sdist, so the sdist holds no build/ leftovers of the wheel build.
          script.push(
            `(cd /stage/src${i} && python3 -m pip wheel -q --disable-pip-version-check --no-deps --no-index --no-build-isolation --wheel-dir /stage/out${i} .)`
          )
        }
      }
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
        `${stage}:/stage`,
        BUILDER_IMAGE,
        'sh',
        '-c',
        script.join('\n')
      ])
      for (const [i, m] of missing.entries()) await rename(path.join(stage, `out${i}`), m.dir)
    } finally {
      await rm(stage, { recursive: true, force: true })
    }
  }
  return Promise.all(
    planned.map(async (p) => {
      const all = await readdir(p.dir)
      const files = all.filter((f) => f.endsWith('.tar.gz'))
      if (files.length !== 1)
        throw new Error(`Expected one sdist in ${p.dir}, found ${files.length}`)
      const wheels = all.filter((f) => f.endsWith('-py3-none-any.whl'))
      if (p.wheel && wheels.length !== 1)
        throw new Error(`Expected one py3-none-any wheel in ${p.dir}, found ${wheels.length}`)
      return {
        fixture: p.fixture,
        project: BENCH_FIXTURES[p.fixture].project,
        version: p.version,
        file: path.join(p.dir, files[0] as string),
        ...(p.wheel ? { wheel: path.join(p.dir, wheels[0] as string) } : {})
      }
    })
  )
}
