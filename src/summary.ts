/** The job summary: what was built, tested and pushed, in one table per concern. */
import * as core from '@actions/core'
import { BuildResult } from './execute.js'
import { BuildPlan } from './plan.js'

export async function writeSummary(plan: BuildPlan, result?: BuildResult): Promise<void> {
  const s = core.summary.addHeading(`wheel-slim: ${plan.package.name} ${plan.package.version}`, 2)
  if (!result) {
    s.addRaw(
      `Dockerfile written to <code>${plan.dockerfilePath}</code> (dockerfile-only: nothing built).`,
      true
    )
    s.addCodeBlock(plan.dockerfile, 'dockerfile')
    await s.write()
    return
  }
  s.addTable([
    [
      { data: 'platform', header: true },
      { data: 'build (s)', header: true },
      { data: 'smoke test', header: true }
    ],
    ...result.smoke.map((r) => [r.platform, String(r.buildSeconds), 'passed'])
  ])
  if (result.pushed) {
    s.addTable([
      [
        { data: 'tag', header: true },
        { data: 'digest', header: true },
        { data: 'change', header: true }
      ],
      ...result.moves.map((m) => [
        m.ref,
        m.to,
        m.from === undefined ? 'created' : m.from === m.to ? 'unchanged' : `moved from ${m.from}`
      ])
    ])
  } else {
    s.addRaw(`Nothing pushed: ${plan.push.reason}.`, true)
  }
  await s.write()
}
