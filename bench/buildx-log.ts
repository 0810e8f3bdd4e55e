// Reads the baselines' `docker buildx build --progress=plain` output: each step's vertex header
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
