// The bench's result model, the targets it reports and the text table.

import type { PipPhases } from './buildx-log.js'

export interface PlatformRow {
  platform: string
  /** Where the wheel step's seconds went (pip start-up, metadata + build per project). */
  phases?: PipPhases
  /** Seconds of the `pip wheel` step(s); from the action's metadata or the buildx log. */
  wheelSeconds?: number
  /** The action's own per-platform build (smoke build) seconds; undefined for raw buildx. */
  buildSeconds?: number
  /** Wheel files pip compiled from source on this platform in this run. */
  built: string[]
  /** How many of `built` are dependencies (not the scenario's own package). */
  depsBuilt: number
  /** Wheels taken from the wheel cache or the parent instead of compiled. */
  reused: number
  /** Compressed layer bytes of the pushed slim image. */
  imageBytes?: number
  layers?: number[]
  /** The lower bound for this image's installed set (see referenceDockerfile). */
  boundBytes?: number
  /** Bytes above the slim base image: the image's, and the lower bound's one layer. */
  addedBytes?: number
  boundAddedBytes?: number
  ratioBound?: number
  /** Against the seed's Dockerfile (e), same platform. */
  ratioSeed?: number
}

export interface ScenarioResult {
  id: string
  title: string
  /** What was run, in one line. */
  how: string
  image?: string
  /** Wall clock of the whole action run (main + post) or buildx call. */
  totalSeconds?: number
  platforms: PlatformRow[]
  /** The scenario's own package (normalized), told apart from its dependencies. */
  own: string
  /** Which lower bound the images are held against (a key of BenchResults.bounds). */
  bound?: string
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
  host: { cpus: number; loadAverage: number[]; node: string; docker: string }
  platforms: string[]
  /** Another e2e suite was seen running at some point: timings are noisy. */
  noisy: boolean
  scenarios: ScenarioResult[]
  bounds: Record<string, Bound>
  targets: Target[]
  dockerfiles: Record<string, string>
}

const find = (r: BenchResults, id: string): ScenarioResult | undefined =>
  r.scenarios.find((s) => s.id === id && !s.error)
const row = (s: ScenarioResult | undefined, platform: string): PlatformRow | undefined =>
  s?.platforms.find((p) => p.platform === platform)

export function computeTargets(r: BenchResults): Target[] {
  const targets: Target[] = []
  const arm = 'linux/arm/v7'
  const a = row(find(r, 'a'), arm)?.wheelSeconds
  const b = row(find(r, 'b'), arm)?.wheelSeconds
  targets.push(
    a && b !== undefined
      ? {
          name: '(b) arm/v7 wheel step <= 0.25x (a)',
          pass: b <= 0.25 * a,
          detail: `${b} s vs ${a} s = ${(b / a).toFixed(3)}x`
        }
      : { name: '(b) arm/v7 wheel step <= 0.25x (a)', pass: false, detail: 'not measured' }
  )

  const c = find(r, 'c')
  const f = find(r, 'f-bump')
  if (c && f) {
    const cDeps = c.platforms.map((p) => p.depsBuilt)
    const fDeps = f.platforms.map((p) => p.depsBuilt)
    const all = f.platforms.map((p) => p.depsBuilt + p.reused)
    targets.push({
      name: '(c) compiles one wheel where (f) recompiles all',
      pass: cDeps.every((n) => n === 1) && fDeps.every((n, i) => n > 1 && n === all[i]),
      detail:
        `dependency wheels compiled per platform: (c) ${cDeps.join(' / ')}, ` +
        `(f) after the same bump ${fDeps.join(' / ')}`
    })
  } else {
    targets.push({
      name: '(c) compiles one wheel where (f) recompiles all',
      pass: false,
      detail: 'not measured'
    })
  }

  const rows = ['a', 'b', 'c', 'd'].flatMap((id) =>
    (find(r, id)?.platforms ?? []).map((p) => ({ id, p }))
  )
  const measured = rows.filter((x) => x.p.ratioBound !== undefined)
  const worst = measured.sort((x, y) => (y.p.ratioBound ?? 0) - (x.p.ratioBound ?? 0))[0]
  targets.push(
    worst
      ? {
          name: 'slim image <= 1.02x the lower bound',
          pass: (worst.p.ratioBound ?? Infinity) <= 1.02,
          detail: `worst: (${worst.id}) ${worst.p.platform} ${worst.p.ratioBound?.toFixed(4)}x (${measured.length} images)`
        }
      : { name: 'slim image <= 1.02x the lower bound', pass: false, detail: 'not measured' }
  )
  return targets
}

/** The wheel step split into pip start-up, the own package, the dependencies and the rest. */
export function breakdown(
  s: ScenarioResult,
  p: PlatformRow
): { startup: number; own: number; deps: number; rest: number } | undefined {
  if (!p.phases || p.wheelSeconds === undefined) return undefined
  const own = p.phases.projects[s.own] ?? 0
  const deps = Object.entries(p.phases.projects)
    .filter(([k]) => k !== s.own)
    .reduce((n, [, v]) => n + v, 0)
  const rest = Math.max(0, p.wheelSeconds - p.phases.startup - own - deps)
  return { startup: p.phases.startup, own, deps, rest }
}

const mb = (n?: number): string => (n === undefined ? '-' : (n / 1e6).toFixed(2))
const kb = (n?: number): string => (n === undefined ? '-' : (n / 1e3).toFixed(1))
const sec = (n?: number): string => (n === undefined ? '-' : n.toFixed(1))
const ratio = (n: number | undefined, digits: number): string =>
  n === undefined ? '-' : n.toFixed(digits)
const short = (p: string): string => p.replace(/^linux\//, '')

/** A fixed-width text table (stdout, and a fenced block in RESULTS.md). */
export function renderTable(r: BenchResults): string {
  const header = [
    'scenario',
    'platform',
    'wheel s',
    'total s',
    'built',
    'deps',
    'reused',
    'image MB',
    '+slim KB',
    'bound KB',
    '+slim x',
    'x bound',
    'x (e)'
  ]
  const lines: string[][] = [header]
  for (const s of r.scenarios) {
    if (s.error) {
      lines.push([`(${s.id}) ${s.title}`, 'FAILED', ...header.slice(2).map(() => '')])
      continue
    }
    s.platforms.forEach((p, i) => {
      lines.push([
        i === 0 ? `(${s.id}) ${s.title}${s.othersRunning ? ' *' : ''}` : '',
        short(p.platform),
        sec(p.wheelSeconds),
        i === 0 ? sec(s.totalSeconds) : '',
        String(p.built.length),
        String(p.depsBuilt),
        String(p.reused),
        mb(p.imageBytes),
        kb(p.addedBytes),
        kb(p.boundAddedBytes),
        ratio(p.addedBytes && p.boundAddedBytes ? p.addedBytes / p.boundAddedBytes : undefined, 2),
        ratio(p.ratioBound, 4),
        ratio(p.ratioSeed, 4)
      ])
    })
  }
  const widths = header.map((_, c) => Math.max(...lines.map((l) => (l[c] ?? '').length)))
  const fmt = (l: string[]): string =>
    l
      .map((cell, c) => (c < 2 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join('  ')
      .trimEnd()
  const out = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(fmt)]
  out.push('', 'Where the wheel step went, in seconds (from the timestamps on pip output lines):')
  for (const s of r.scenarios) {
    for (const p of s.platforms) {
      const b = breakdown(s, p)
      if (!b) continue
      out.push(
        `  ${`(${s.id})`.padEnd(8)} ${short(p.platform).padEnd(6)} ${sec(p.wheelSeconds).padStart(5)} = ` +
          `start-up ${sec(b.startup)} + ${s.own} ${sec(b.own)} + deps ${sec(b.deps)} + rest ${sec(b.rest)}`
      )
    }
  }
  out.push('')
  for (const t of r.targets) out.push(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.detail}`)
  if (r.scenarios.some((s) => s.othersRunning)) {
    out.push(
      '',
      '* another e2e suite (jest -c jest.e2e) was running during this scenario: noisy timing'
    )
  }
  return out.join('\n')
}

/** bench/RESULTS.md: the table in a fenced block (prettier leaves it alone), then the notes. */
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
    `Run \`${r.runId}\`, ${r.startedAt}: ${r.host.cpus} CPUs, load average at start ` +
      `${r.host.loadAverage.join(' ')}, Node ${r.host.node}, Docker ${r.host.docker}, ` +
      `platforms ${r.platforms.join(', ')}.` +
      (r.noisy ? ' Other e2e suites ran meanwhile (rows marked \\*): timings are noisy.' : ''),
    '',
    'Written by `npm run bench` (`bench/run.ts`); the full data is in `bench/results/latest.json`.',
    '',
    '```text',
    table,
    '```',
    '',
    '## Columns',
    '',
    '- wheel s: seconds of the `pip wheel` step on that platform (the action: its metadata ' +
      '`builds[].wheelSeconds`; buildx baselines: the `#N DONE` of each `pip wheel` step in the ' +
      'plain progress log, summed for the peer, which has two).',
    '- total s: wall clock of the whole action run (main and post step) or of the one buildx call.',
    '- built: wheels pip compiled from source; deps: how many of them are dependencies (not the ' +
      "scenario's own package); reused: wheels taken from the wheel cache or the parent.",
    '- image MB: compressed layer bytes of the pushed slim image on that platform.',
    '- Where the wheel step went: start-up = until pip prints its first line (container, ' +
      'interpreter and pip start-up; under QEMU, and with the other platform building on the ' +
      "same 2 cores); own package / deps = pip's metadata preparation and wheel build of the " +
      "scenario's own package / of the dependencies; rest = resolving, reading the find-links " +
      'directories, copying cached wheels.',
    '- +slim KB: what the image adds above the slim base image; bound KB: the one layer of the ' +
      'lower bound; x bound: image / lower bound; x (e): image / the seed Dockerfile image.',
    '',
    '## Scenarios',
    '',
    ...how,
    '',
    '## Lower bounds',
    '',
    'The slim image plus ONE layer holding exactly what `pip install` puts in the image: the same ' +
      'pip and options as the runtime stage, run with `--root /install` in a throwaway stage on ' +
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
    "(e), the seed's Dockerfile (built with `--no-cache-filter base`):",
    '',
    '```dockerfile',
    (r.dockerfiles.seed ?? '').trimEnd(),
    '```',
    '',
    '(f), the peer setup (layer cache kept between its builds; the first one with `--no-cache`):',
    '',
    '```dockerfile',
    (r.dockerfiles.peer ?? '').trimEnd(),
    '```',
    ''
  ].join('\n')
}
