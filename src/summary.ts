/** The job summary: per platform, what the wheel cache saved and what was built, tested, pushed. */
import * as core from '@actions/core'
import { BuildResult } from './execute.js'
import { BuildPlan } from './plan.js'

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

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
  const header = [
    'platform',
    'wheel cache',
    'wheels reused',
    'wheels built',
    'wheel step',
    'build',
    'slim image',
    'pushed slim / base',
    'smoke test'
  ]
  s.addTable([
    header.map((data) => ({ data, header: true })),
    ...result.platforms.map((r) => {
      const restored = result.restored.find((x) => x.platform === r.platform)
      return [
        r.platform,
        restored ? (restored.matchedKey ? `hit (${restored.wheels.length})` : 'miss') : 'off',
        String(r.reused),
        String(r.built.length),
        r.wheelSeconds === undefined ? '-' : `${r.wheelSeconds} s`,
        `${r.buildSeconds} s`,
        mb(r.slimBytes),
        r.pushedSlimBytes === undefined
          ? '-'
          : `${mb(r.pushedSlimBytes)} / ${mb(r.pushedBaseBytes ?? 0)}`,
        'passed'
      ]
    })
  ])
  if (result.pushed) {
    s.addTable([
      ['tag', 'digest', 'change'].map((data) => ({ data, header: true })),
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
