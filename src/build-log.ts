/**
 * What a build's plain progress log says about each platform's wheel steps: how long resolve
 * (build host) and compile (target) took, or that the layer cache answered for them.
 */

export interface StepTime {
  seconds?: number
  cached: boolean
}

export interface WheelSteps {
  resolve?: StepTime
  compile?: StepTime
}

/**
 * A step's header: `#12 [runtime linux/arm/v7 compile 3/3] RUN …`. Before the stage come the
 * bake target and the platform, each only when there are several; a stage on the build host
 * names its target without the OS: `[wheels linux/amd64->arm/v7 resolve 2/2]`.
 */
const HEADER = /^#(\d+) \[([^\]]*?)\b(resolve|compile) \d+\/\d+\] RUN /gm

/** `targets`: the platforms of each bake target, for targets that build one platform each. */
function platformOf(
  prefix: string,
  platforms: string[],
  targets: Record<string, string[]>
): string | undefined {
  const tokens = prefix.trim().split(' ')
  const token = tokens.find((t) => t.includes('/'))
  if (!token) {
    const own = targets[tokens[0] ?? '']
    if (own?.length === 1) return own[0]
    return platforms.length === 1 ? platforms[0] : undefined
  }
  const target = token.includes('->') ? (token.split('->')[1] as string) : token
  return target.startsWith('linux/') ? target : `linux/${target}`
}

/**
 * Bake shows a shared step once per target: the one that ran has the time, the others are CACHED.
 * `resolveServes`: the platforms one resolve step serves (it names only the build host's): its
 * time is each one's.
 */
export function parseWheelSteps(
  log: string,
  platforms: string[],
  targets: Record<string, string[]> = {},
  resolveServes: string[] = []
): Map<string, WheelSteps> {
  const steps = new Map<string, WheelSteps>()
  for (const m of log.matchAll(HEADER)) {
    const [, id, prefix, stage] = m as unknown as [string, string, string, 'resolve' | 'compile']
    const platform = platformOf(prefix, platforms, targets)
    const served =
      stage === 'resolve' && resolveServes.length > 0 ? resolveServes : platform ? [platform] : []
    const done = new RegExp(`^#${id} DONE (\\d+(?:\\.\\d+)?)s`, 'm').exec(log)
    const cached = new RegExp(`^#${id} CACHED`, 'm').test(log)
    for (const p of served) {
      const entry = steps.get(p) ?? {}
      const seen = entry[stage]
      if (done)
        entry[stage] = { seconds: Math.max(Number(done[1]), seen?.seconds ?? 0), cached: false }
      else if (!seen) entry[stage] = { seconds: cached ? 0 : undefined, cached }
      steps.set(p, entry)
    }
  }
  return steps
}

/** Steps of several builds (one log each), merged: a step that ran anywhere has its time. */
export function mergeWheelSteps(maps: Map<string, WheelSteps>[]): Map<string, WheelSteps> {
  const merged = new Map<string, WheelSteps>()
  for (const map of maps) {
    for (const [platform, steps] of map) {
      const entry = merged.get(platform) ?? {}
      for (const stage of ['resolve', 'compile'] as const) {
        const step = steps[stage]
        const seen = entry[stage]
        if (
          step &&
          (!seen || (seen.cached && !step.cached) || (step.seconds ?? 0) > (seen.seconds ?? 0))
        )
          entry[stage] = step
      }
      merged.set(platform, entry)
    }
  }
  return merged
}
