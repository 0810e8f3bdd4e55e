// Reads `docker buildx build --progress=plain` output: each step's vertex header
// (`#12 [linux/arm/v7 builder 3/5] RUN ...`; no platform prefix in a one-platform build), its
// `#12 DONE 45.6s` or `#12 CACHED`, and the wheels pip reports in its `Created wheel for` lines.

export interface BuildxStep {
  id: string
  /** `linux/arm/v7`; undefined in a one-platform build. */
  platform?: string
  stage: string
  command: string
  seconds?: number
  cached: boolean
  /** Wheel file names pip built from source in this step. */
  created: string[]
}

const HEADER = /^#(\d+) \[(?:(\S+\/\S+) )?([\w.-]+) \d+\/\d+\] (.*)$/

export function parseBuildxSteps(log: string): BuildxStep[] {
  const steps = new Map<string, BuildxStep>()
  const lines = log.split(/\r?\n/)
  for (const line of lines) {
    const h = HEADER.exec(line)
    if (h && !steps.has(h[1] as string)) {
      steps.set(h[1] as string, {
        id: h[1] as string,
        platform: h[2],
        stage: h[3] as string,
        command: h[4] as string,
        cached: false,
        created: []
      })
    }
  }
  for (const line of lines) {
    const m = /^#(\d+) (.*)$/.exec(line)
    const step = m && steps.get(m[1] as string)
    if (!step) continue
    const rest = m[2] as string
    const done = /^DONE (\d+(?:\.\d+)?)s/.exec(rest)
    if (done) step.seconds = Number(done[1])
    if (rest === 'CACHED') step.cached = true
    const created = /Created wheel for \S+: filename=(\S+\.whl)/.exec(rest)
    if (created && !step.created.includes(created[1] as string))
      step.created.push(created[1] as string)
  }
  return [...steps.values()]
}

/** `RUN pip wheel ...` in shell form, or `RUN [..."pip", "wheel"...]` in exec form. */
const isPipWheel = (command: string): boolean => /^RUN .*\bpip3?(?: +|", ")wheel\b/.test(command)

export interface PlatformWheelSteps {
  /** Sum over the platform's `pip wheel` steps; 0 when the layer cache skipped them all. */
  seconds: number
  built: string[]
  steps: number
  cached: number
}

/** The `pip wheel` steps of one build, summed per platform. */
export function wheelStepsByPlatform(log: string): Map<string, PlatformWheelSteps> {
  const out = new Map<string, PlatformWheelSteps>()
  for (const s of parseBuildxSteps(log)) {
    if (!isPipWheel(s.command)) continue
    const key = s.platform ?? 'default'
    const acc = out.get(key) ?? { seconds: 0, built: [], steps: 0, cached: 0 }
    acc.steps += 1
    if (s.cached) acc.cached += 1
    acc.seconds = Math.round((acc.seconds + (s.seconds ?? 0)) * 10) / 10
    acc.built.push(...s.created)
    out.set(key, acc)
  }
  return out
}

/** Where a `pip wheel` step's seconds went, from the timestamps pip's lines carry. */
export interface PipPhases {
  /** Until pip's first line: interpreter and pip start-up (slow under QEMU). */
  startup: number
  /** Metadata preparation and wheel builds, seconds per normalized project name. */
  projects: Record<string, number>
}

const normalize = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '_')

/** One step's phases, from its `#<id> <seconds> <text>` lines. */
function phasesOf(log: string, id: string): PipPhases {
  const lines = [...log.matchAll(new RegExp(`^#${id} (\\d+\\.\\d+) (.*)$`, 'gm'))].map((m) => ({
    t: Number(m[1]),
    text: (m[2] as string).trim()
  }))
  const phases: PipPhases = { startup: lines[0]?.t ?? 0, projects: {} }
  const add = (project: string, seconds: number): void => {
    phases.projects[project] = Math.round(((phases.projects[project] ?? 0) + seconds) * 100) / 100
  }
  let current = ''
  const open = new Map<string, number>()
  for (const { t, text } of lines) {
    const collecting = /^Collecting ([A-Za-z0-9._-]+)/.exec(text)
    // A local sdist or wheel: `<name>-<version>...`, the name possibly hyphenated.
    const processing = /^Processing \S*\/([A-Za-z0-9._-]+?)-\d[^/\s]*$/.exec(text)
    if (collecting) current = normalize(collecting[1] as string)
    else if (processing) current = normalize(processing[1] as string)
    const meta = /^Preparing metadata .*: (started|finished)/.exec(text)
    if (meta?.[1] === 'started') open.set(`meta:${current}`, t)
    if (meta?.[1] === 'finished') add(current, t - (open.get(`meta:${current}`) ?? t))
    const build = /^Building wheel for (\S+) .*: (started|finished)/.exec(text)
    if (build) {
      const project = normalize(build[1] as string)
      if (build[2] === 'started') open.set(`build:${project}`, t)
      else add(project, t - (open.get(`build:${project}`) ?? t))
    }
  }
  return phases
}

/** Phases of each platform's `pip wheel` steps, summed ('default' in a one-platform build). */
export function pipPhasesByPlatform(log: string): Map<string, PipPhases> {
  const out = new Map<string, PipPhases>()
  for (const s of parseBuildxSteps(log)) {
    if (!isPipWheel(s.command) || s.cached) continue
    const key = s.platform ?? 'default'
    const p = phasesOf(log, s.id)
    const acc = out.get(key) ?? { startup: 0, projects: {} }
    acc.startup = Math.round((acc.startup + p.startup) * 100) / 100
    for (const [k, v] of Object.entries(p.projects)) {
      acc.projects[k] = Math.round(((acc.projects[k] ?? 0) + v) * 100) / 100
    }
    out.set(key, acc)
  }
  return out
}

/**
 * A runner log holds several builds (one per `[command]... docker buildx build` line that
 * @actions/exec prints): the output of the first one whose command matches.
 */
export function buildSegment(log: string, match: (command: string) => boolean): string {
  const parts = log.split(/^(?=\[command\])/m)
  return parts.find((p) => match(p.split('\n')[0] ?? '')) ?? ''
}
