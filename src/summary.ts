/** The job summary: per platform, where the wheels came from, what was built, tested, pushed. */
import * as core from '@actions/core'
import { BuildResult } from './execute.js'
import { TagMove } from './tag-moves.js'
import { BuildPlan } from './plan.js'

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

const moveRow = (m: TagMove): string[] => [
  m.ref,
  m.to,
  m.kept
    ? `kept on ${m.kept} (not older)`
    : m.from === undefined
      ? 'created'
      : m.from === m.to
        ? 'unchanged'
        : `moved from ${m.from}`
]

export async function writeMergeSummary(platforms: string[], moves: TagMove[]): Promise<void> {
  await core.summary
    .addHeading(`wheel-slim: merged ${platforms.join(', ')}`, 2)
    .addTable([
      ['tag', 'digest', 'change'].map((data) => ({ data, header: true })),
      ...moves.map(moveRow)
    ])
    .write()
}

export async function writeSummary(plan: BuildPlan, result?: BuildResult): Promise<void> {
  const s = core.summary.addHeading(`wheel-slim: ${plan.package.name} ${plan.package.version}`, 2)
  if (!result) {
    s.addRaw(
      `Dockerfile written to <code>${plan.files.dockerfile}</code> (dockerfile-only: nothing built).`,
      true
    )
    s.addCodeBlock(plan.dockerfile, 'dockerfile')
    await s.write()
    return
  }
  const header = [
    'platform',
    'runs',
    'wheels',
    'wheel cache',
    'reused',
    'built',
    'wheel step',
    'pushed slim / base',
    'smoke test',
    'runtime packages'
  ]
  s.addTable([
    header.map((data) => ({ data, header: true })),
    ...result.platforms.map((r) => {
      const restored = result.restored.find((x) => x.platform === r.platform)
      const step = r.path === 'target' ? r.steps.compile : r.steps.resolve
      return [
        r.platform,
        r.runs,
        r.path === 'target'
          ? `compiled on the target (${r.reason})`
          : r.path === 'build host'
            ? 'found on the build host, nothing emulated'
            : '-',
        restored
          ? restored.matchedKey
            ? `hit (${restored.wheels.length})`
            : restored.unreadable
              ? 'unreadable, replaced'
              : 'miss'
          : 'off',
        String(r.reused.length),
        String(r.built.length),
        step?.seconds === undefined ? '-' : `${step.seconds} s${step.cached ? ' (cached)' : ''}`,
        r.pushedSlimBytes === undefined
          ? '-'
          : `${mb(r.pushedSlimBytes)} / ${mb(r.pushedBaseBytes ?? 0)}`,
        `passed; modules load (${r.testSeconds} s)`,
        Object.keys(r.runtimePackages).join(' ') || '-'
      ]
    })
  ])
  const t = result.timings
  s.addRaw(
    `Time: setup ${t.setup} s, cache restore ${t.restore} s, build ${t.build} s, smoke test ${t.smoke} s, push ${t.push} s, cache save ${t.save} s.`,
    true
  )
  if (result.pushed) {
    s.addTable([
      ['tag', 'digest', 'change'].map((data) => ({ data, header: true })),
      ...result.moves.map(moveRow)
    ])
  } else {
    s.addRaw(`Nothing pushed: ${plan.push.reason}.`, true)
  }
  s.addRaw(
    `Wheel cache: ${plan.cacheSave.save ? 'saved when new wheels were built' : plan.cacheSave.reason}.`,
    true
  )
  await s.write()
}
