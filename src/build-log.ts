/**
 * What a build's plain progress log says about the wheel step: how long it took, whether the
 * layer cache skipped it, and which wheels pip compiled (its "Created wheel for" lines).
 */

export interface WheelStep {
  /** Seconds of the `pip wheel` step; undefined when the log has no such step. */
  seconds?: number
  cached: boolean
  /** Wheel files pip built from source in this build. */
  built: string[]
}

export function parseWheelStep(log: string): WheelStep {
  const header = /^#(\d+) \[(?:\S+ )?base \d+\/\d+\] RUN .*"pip", "wheel"/m.exec(log)
  if (!header) return { cached: false, built: [] }
  const id = header[1] as string
  const cached = new RegExp(`^#${id} CACHED`, 'm').test(log)
  const done = new RegExp(`^#${id} DONE (\\d+(?:\\.\\d+)?)s`, 'm').exec(log)
  const built = [
    ...log.matchAll(new RegExp(`^#${id} .*Created wheel for \\S+: filename=(\\S+\\.whl)`, 'gm'))
  ].map((m) => m[1] as string)
  return {
    seconds: done ? Number(done[1]) : cached ? 0 : undefined,
    cached,
    built: [...new Set(built)]
  }
}
