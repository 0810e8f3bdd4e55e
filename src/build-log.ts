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

/** Header of a step: `#12 [runtime linux/arm/v7 compile 3/3] RUN …` or `[… linux/amd64->arm/v7 resolve 2/2]`. */
const HEADER =
  /^#(\d+) \[(?:\S+ )?(?:linux\/[^\s>]+->(\S+)|(linux\/\S+)) (resolve|compile) \d+\/\d+\] RUN /gm

/** Bake shows a shared step once per target: the one that ran has the time, the others are CACHED. */
export function parseWheelSteps(log: string): Map<string, WheelSteps> {
  const steps = new Map<string, WheelSteps>()
  for (const m of log.matchAll(HEADER)) {
    const [, id, cross, own, stage] = m as unknown as [
      string,
      string,
      string | undefined,
      string | undefined,
      'resolve' | 'compile'
    ]
    // A stage on the build host names the target without its OS: "linux/amd64->arm/v7".
    const platform = own ?? (cross?.startsWith('linux/') ? cross : `linux/${cross}`)
    const done = new RegExp(`^#${id} DONE (\\d+(?:\\.\\d+)?)s`, 'm').exec(log)
    const cached = new RegExp(`^#${id} CACHED`, 'm').test(log)
    const entry = steps.get(platform) ?? {}
    const seen = entry[stage]
    if (done)
      entry[stage] = { seconds: Math.max(Number(done[1]), seen?.seconds ?? 0), cached: false }
    else if (!seen) entry[stage] = { seconds: cached ? 0 : undefined, cached }
    steps.set(platform, entry)
  }
  return steps
}
