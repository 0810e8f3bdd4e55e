// The bench's result model, the targets it reports (computed from the figures, never asserted
// while timing) and the text tables.

import type { Timings } from '../src/execute.js'
import type { EmulatedProcess } from './emulation.js'

export type Phase = keyof Timings
export const PHASES: Phase[] = ['setup', 'restore', 'build', 'smoke', 'push', 'save']

export interface PlatformRow {
  platform: string
  /**
   * Where the wheels came from: the action's `builds[].path` ('build host' | 'target'); for a
   * buildx baseline 'target' (its `pip wheel` steps ran, emulated) or 'layer cache' (skipped).
   */
  path: string
  /** The action's resolve step (build host) and compile step (target); a baseline's `pip wheel` steps. */
  resolveSeconds?: number
  compileSeconds?: number
  /** Wheel files compiled from source on this platform in this run. */
  built: string[]
  /** How many of `built` are dependencies (not the scenario's own package). */
  depsBuilt: number
  /** Wheels taken from the wheel cache or the parent instead of compiled. */
  reused: number
  /** CPU seconds of emulated processes of this platform; of them, those of build steps (the rest ran in `docker run` containers: the smoke test and checks). */
  emulatedSeconds: number
  buildEmulatedSeconds: number
  /** Compressed layer bytes of the pushed slim image. */
  imageBytes?: number
  layers?: number[]
  /** The lower bound for this image's installed set (see referenceDockerfile). */
  boundBytes?: number
  /** Bytes above the slim base image: the image's, and the lower bound's one layer. */
  addedBytes?: number
  boundAddedBytes?: number
  ratioBound?: number
  /** Against the seed's Dockerfile, same platform, same fixture. */
  ratioSeed?: number
}

export interface ScenarioResult {
  id: string
  title: string
  /** What was run, in one line. */
  how: string
  kind: 'action' | 'buildx'
  image?: string
  /** Wall clock of the action's main step, or of the one `buildx build --push` call. */
  totalSeconds?: number
  /** The action's own split (metadata `timings`); a baseline has only `build` (its push inside). */
  split: Partial<Timings>
  /** Every platform passed a smoke test before the push (the baselines test nothing). */
  tested: boolean
  /** The action's post step (cleanup), run after the timing. */
  postSeconds?: number
  /** Samples the emulation sampler took (one every 50 ms), and the busiest emulated processes. */
  samples?: number
  topEmulated?: EmulatedProcess[]
  platforms: PlatformRow[]
  /** The scenario's own package (normalized), told apart from its dependencies. */
  own: string
  /** Which lower bound the images are held against (a key of BenchResults.bounds). */
  bound?: string
  /** The seed scenario of the same fixture, for `x (e)`. */
  seed?: string
  /** Another e2e suite ("jest -c jest.e2e") was seen running during this scenario. */
  othersRunning: boolean
  log?: string
  error?: string
}

export interface Bound {
  reference: string
  platforms: { platform: string; slimBytes: number; layerBytes: number; bytes: number }[]
}

export interface Target {
  name: string
  pass: boolean
  detail: string
}

export interface BenchResults {
  runId: string
  repository: string
  startedAt: string
  finishedAt?: string
  host: {
    cpus: number
    /** 1, 5 and 15 minute load averages at the start and at the end of the run. */
    loadAverage: number[]
    loadAverageEnd?: number[]
    node: string
    docker: string
  }
  platforms: string[]
  /** Emulated CPU seconds the sampler saw for a known load (`sum(range(10**7))` on arm/v7). */
  samplerCheck?: number
  /** Another e2e suite was seen running at some point: timings are noisy. */
  noisy: boolean
  scenarios: ScenarioResult[]
  bounds: Record<string, Bound>
  targets: Target[]
  dockerfiles: Record<string, string>
}

const find = (r: BenchResults, id: string): ScenarioResult | undefined =>
  r.scenarios.find((s) => s.id === id && !s.error)
const fmt1 = (n: number): string => n.toFixed(1)
const missing = (name: string): Target => ({ name, pass: false, detail: 'not measured' })

/** `x`'s whole run took at most `factor` times `y`'s; `tested`: and `x` smoke-tested every platform. */
function wholeRun(r: BenchResults, x: string, y: string, factor: number, tested = false): Target {
  const name =
    `(${x}) whole run <= ${factor === 1 ? '' : `${factor}x `}(${y})` +
    (tested ? ', every platform smoke-tested' : '')
  const a = find(r, x)
  const b = find(r, y)
  if (a?.totalSeconds === undefined || b?.totalSeconds === undefined) return missing(name)
  const ratio = a.totalSeconds / b.totalSeconds
  return {
    name,
    pass: ratio <= factor && (!tested || a.tested),
    detail:
      `${fmt1(a.totalSeconds)} s vs ${fmt1(b.totalSeconds)} s = ${ratio.toFixed(3)}x` +
      (tested ? `; ${a.tested ? 'every platform smoke-tested' : 'NOT smoke-tested'}` : '')
  }
}

/** Emulated CPU in build steps a warm run may show: the compile stage's one `sh -c` test. */
const WARM_EMULATION_SLACK = 0.1

/**
 * A warm run gathers every wheel on the build host: nothing emulated but the smoke test (and
 * the runtime-packages install, which no scenario here has).
 */
function emulatesOnlySmoke(r: BenchResults, id: string): Target {
  const name = `(${id}) emulates nothing but the smoke test`
  const s = find(r, id)
  if (!s) return missing(name)
  const foreign = s.platforms.filter((p) => p.platform !== 'linux/amd64')
  const pass = foreign.every(
    (p) =>
      p.path === 'build host' &&
      p.built.length === 0 &&
      p.buildEmulatedSeconds <= WARM_EMULATION_SLACK
  )
  const detail = foreign
    .map(
      (p) =>
        `${short(p.platform)}: wheels on the ${p.path}, ${p.built.length} built, ` +
        `emulated CPU ${p.buildEmulatedSeconds.toFixed(2)} s in the build, ` +
        `${(p.emulatedSeconds - p.buildEmulatedSeconds).toFixed(2)} s in the smoke test and checks`
    )
    .join('; ')
  return { name, pass, detail: `${detail} (allowed in the build: ${WARM_EMULATION_SLACK} s)` }
}

export function computeTargets(r: BenchResults): Target[] {
  const targets: Target[] = [
    wholeRun(r, 'a', 'e', 1, true),
    wholeRun(r, 'b', 'f-app', 1),
    wholeRun(r, 'b', 'e', 0.35),
    emulatesOnlySmoke(r, 'b')
  ]

  const rows = ['a', 'b', 'c', 'd'].flatMap((id) =>
    (find(r, id)?.platforms ?? []).map((p) => ({ id, p }))
  )
  const measured = rows.filter((x) => x.p.ratioBound !== undefined)
  const worst = measured.sort((x, y) => (y.p.ratioBound ?? 0) - (x.p.ratioBound ?? 0))[0]
  const sizeName = 'slim image <= 1.02x the lower bound, (a)-(d)'
  targets.push(
    worst
      ? {
          name: sizeName,
          pass: (worst.p.ratioBound ?? Infinity) <= 1.02,
          detail: `worst: (${worst.id}) ${worst.p.platform} ${worst.p.ratioBound?.toFixed(4)}x (${measured.length} images)`
        }
      : missing(sizeName)
  )

  const c = find(r, 'c')
  const f = find(r, 'f-bump')
  const bumpName = '(c) compiles one wheel where (f-bump) recompiles all'
  if (c && f) {
    const cDeps = c.platforms.map((p) => p.depsBuilt)
    const fDeps = f.platforms.map((p) => p.depsBuilt)
    const all = f.platforms.map((p) => p.depsBuilt + p.reused)
    targets.push({
      name: bumpName,
      pass: cDeps.every((n) => n === 1) && fDeps.every((n, i) => n > 1 && n === all[i]),
      detail:
        `dependency wheels compiled per platform: (c) ${cDeps.join(' / ')}, ` +
        `(f-bump) after the same bump ${fDeps.join(' / ')}`
    })
  } else targets.push(missing(bumpName))

  if (r.scenarios.some((s) => s.id.startsWith('g-'))) {
    targets.push(
      wholeRun(r, 'g-a', 'g-e', 1, true),
      wholeRun(r, 'g-b', 'g-e', 0.35),
      emulatesOnlySmoke(r, 'g-b')
    )
  }
  return targets
}

const mb = (n?: number): string => (n === undefined ? '-' : (n / 1e6).toFixed(2))
const kb = (n?: number): string => (n === undefined ? '-' : (n / 1e3).toFixed(1))
const sec = (n?: number): string => (n === undefined ? '-' : n.toFixed(1))
const cpu = (n?: number): string => (n === undefined ? '-' : n.toFixed(2))
const ratio = (n: number | undefined, digits: number): string =>
  n === undefined ? '-' : n.toFixed(digits)
const short = (p: string): string => p.replace(/^linux\//, '')
const label = (s: ScenarioResult): string => `(${s.id}) ${s.title}${s.othersRunning ? ' *' : ''}`

/** Left-aligned first `left` columns, the rest right-aligned, a rule under the header. */
function grid(header: string[], rows: string[][], left: number): string[] {
  const lines = [header, ...rows]
  const widths = header.map((_, c) => Math.max(...lines.map((l) => (l[c] ?? '').length)))
  const fmt = (l: string[]): string =>
    l
      .map((cell, c) => (c < left ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join('  ')
      .trimEnd()
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)]
}

/** Whole run per scenario: wall clock, the action's split, emulated CPU over every platform. */
function wholeRunTable(r: BenchResults): string[] {
  const header = ['scenario', 'total s', ...PHASES.map((p) => `${p} s`), 'other s', 'emu CPU s']
  const rows = r.scenarios.map((s) => {
    if (s.error) return [label(s), 'FAILED']
    const split = PHASES.map((p) => {
      if (s.kind === 'buildx' && p === 'push') return 'in build'
      if (s.kind === 'buildx' && p === 'smoke') return 'none'
      return sec(s.split[p])
    })
    const known = PHASES.reduce((n, p) => n + (s.split[p] ?? 0), 0)
    const other =
      s.kind === 'action' && s.totalSeconds !== undefined ? s.totalSeconds - known : undefined
    const emu = s.platforms.reduce((n, p) => n + p.emulatedSeconds, 0)
    return [label(s), sec(s.totalSeconds), ...split, sec(other), cpu(emu)]
  })
  return grid(header, rows, 1)
}

/** Per scenario and platform: where the wheels came from, emulated CPU, image size. */
function platformTable(r: BenchResults): string[] {
  const header = [
    'scenario',
    'platform',
    'wheels from',
    'resolve s',
    'compile s',
    'built',
    'deps',
    'reused',
    'emu CPU s',
    'in build',
    'image MB',
    '+slim KB',
    'bound KB',
    'x bound',
    'x seed'
  ]
  const rows: string[][] = []
  for (const s of r.scenarios) {
    if (s.error) {
      rows.push([label(s), 'FAILED'])
      continue
    }
    s.platforms.forEach((p, i) => {
      rows.push([
        i === 0 ? label(s) : '',
        short(p.platform),
        p.path,
        sec(p.resolveSeconds),
        sec(p.compileSeconds),
        String(p.built.length),
        String(p.depsBuilt),
        String(p.reused),
        cpu(p.emulatedSeconds),
        cpu(p.buildEmulatedSeconds),
        mb(p.imageBytes),
        kb(p.addedBytes),
        kb(p.boundAddedBytes),
        ratio(p.ratioBound, 4),
        ratio(p.ratioSeed, 4)
      ])
    })
  }
  return grid(header, rows, 3)
}

const loads = (l?: number[]): string => (l ? l.join(' ') : '-')

/** The text report (stdout, and a fenced block in RESULTS.md). */
export function renderTable(r: BenchResults): string {
  const out = [
    `Load average (1/5/15 min): ${loads(r.host.loadAverage)} at the start, ` +
      `${loads(r.host.loadAverageEnd)} at the end; ${r.host.cpus} CPUs. Emulation sampler check: ` +
      `sum(range(10**7)) on arm/v7 = ${cpu(r.samplerCheck)} emulated CPU-s.`,
    '',
    'Whole run (the action: its main step; the seed and the peer: their one buildx call):',
    '',
    ...wholeRunTable(r),
    '',
    'Per platform:',
    '',
    ...platformTable(r),
    ''
  ]
  for (const t of r.targets) out.push(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.detail}`)
  if (r.scenarios.some((s) => s.othersRunning)) {
    out.push(
      '',
      '* another e2e suite (jest -c jest.e2e) was running during this scenario: noisy timing, ' +
        'and its emulated processes are counted too'
    )
  }
  return out.join('\n')
}

/** bench/RESULTS.md: the tables in a fenced block (prettier leaves it alone), then the notes. */
export function resultsMarkdown(r: BenchResults, table: string): string {
  const bounds = Object.entries(r.bounds).flatMap(([name, b]) =>
    b.platforms.map(
      (p) =>
        `- \`${name}\` ${p.platform}: slim ${(p.slimBytes / 1e6).toFixed(2)} MB + one layer ` +
        `${(p.layerBytes / 1e3).toFixed(1)} KB = ${(p.bytes / 1e6).toFixed(3)} MB`
    )
  )
  const how = r.scenarios.map((s) => `- (${s.id}) ${s.title}: ${s.how}`)
  return [
    '# Bench results',
    '',
    `Run \`${r.runId}\`, ${r.startedAt}: ${r.host.cpus} CPUs, load average ${loads(r.host.loadAverage)} ` +
      `at the start and ${loads(r.host.loadAverageEnd)} at the end, Node ${r.host.node}, ` +
      `Docker ${r.host.docker}, platforms ${r.platforms.join(', ')}.` +
      (r.noisy ? ' Other e2e suites ran meanwhile (rows marked \\*): timings are noisy.' : ''),
    '',
    'Written by `npm run bench` (`bench/run.ts`); the full data is in `bench/results/latest.json`. ' +
      'A report, not a test: the targets are computed from the figures after the run.',
    '',
    '```text',
    table,
    '```',
    '',
    '## Columns',
    '',
    "- total s: the action: wall clock of its main step (the runner's node process, " +
      '`runAction` with the post step run apart, untimed); the seed and the peer: wall clock of ' +
      'their one `docker buildx build --platform ... --push` call. The seed and the peer test ' +
      'nothing before they push (smoke: none), and their figure has no QEMU/buildx set-up step ' +
      'and no layer-cache import or export, which a CI job of theirs would add.',
    "- setup / restore / build / smoke / push / save s: the action's metadata `timings` (QEMU and " +
      'buildx, wheel cache restore, the one build of every target and platform, the smoke test ' +
      'of every platform, push and tag moves, wheel cache save); other s: the rest of the main ' +
      'step (node start-up, planning, reading back the pushed sizes, outputs and summary).',
    '- emu CPU s: CPU seconds (user + system) of emulated processes, sampled from /proc every ' +
      '50 ms while the scenario ran: every process whose executable is a QEMU user interpreter ' +
      '(`bench/emulation.ts`), split per platform by the interpreter (qemu-arm → arm/v7). It ' +
      'misses processes that live less than one interval and the CPU a process uses after its ' +
      "last sample, and counts every emulated process on the host, another user's too. in build: " +
      "the part BuildKit's RUN steps used (by cgroup); the rest ran in containers `docker run` " +
      "started: the action's smoke test and its check that every compiled module loads.",
    "- wheels from: the action's `builds[].path` (build host: every wheel gathered natively; " +
      "target: compiled under QEMU); a baseline's wheels come from its `pip wheel` steps on the " +
      'target, or from the layer cache when every one was cached. resolve s / compile s: the ' +
      "action's resolve (build host) and compile (target) steps; a baseline's `pip wheel` steps " +
      'under compile s.',
    '- built: wheels compiled from source; deps: how many of them are dependencies (not the ' +
      "scenario's own package); reused: wheels taken from the wheel cache or the parent.",
    '- image MB: compressed layer bytes of the pushed slim image on that platform; +slim KB: ' +
      'what it adds above the slim base image; bound KB: the one layer of the lower bound; ' +
      "x bound: image / lower bound; x seed: image / the seed Dockerfile's image.",
    '',
    '## Scenarios',
    '',
    'Each scenario that says "fresh build cache" starts after `docker buildx prune -af`; the ' +
      "action never relies on the engine's layer cache (a hosted runner has none), only on its " +
      'wheel cache (a local Actions cache service).',
    '',
    ...how,
    '',
    '## Lower bounds',
    '',
    'The slim image plus ONE layer holding exactly what `pip install` puts in the image: the same ' +
      'pip and options as a runtime stage, run with `--root /install` in a throwaway stage on ' +
      "the wheels of the scenario's pushed base image, copied onto the slim image as its only " +
      'extra layer (`bench/dockerfiles.ts`, `referenceDockerfile`).',
    '',
    ...bounds,
    '',
    '## The baselines',
    '',
    "The app's `dist/` holds what `python -m build` writes: its sdist and its pure-Python " +
      '`py3-none-any` wheel, in every scenario; the compiled dependencies (wsb-fastN) and ' +
      'wsb-derived (a C extension) are sdists only, as PyPI sdists of packages without armv7 ' +
      "wheels. The seed's `pip3 wheel /build/dist/*` would name wsb-app twice with both files " +
      '(pip refuses: ResolutionImpossible), so its `dist/` holds the wheel alone, its Dockerfile ' +
      'verbatim; the peer gets both files and wheels `dist/*.whl`.',
    '',
    "No index server and no network traffic: the dependency sdists sit in the workspace's `dist/` " +
      "beside the package's own for the action (`package` names the one to build, `pip-args: " +
      '--no-index --no-build-isolation`), and come in as the named build context `deps` ' +
      '(`--build-context deps=<dir>`, bind-mounted at `/deps`) for the baselines.',
    '',
    "(e), the seed's Dockerfile:",
    '',
    '```dockerfile',
    (r.dockerfiles.seed ?? '').trimEnd(),
    '```',
    '',
    '(f), the peer setup (layer cache kept between its three builds):',
    '',
    '```dockerfile',
    (r.dockerfiles.peer ?? '').trimEnd(),
    '```',
    ''
  ].join('\n')
}
