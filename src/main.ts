/** The action: inputs from the runner, outputs and summary back to it, cleanup in post. */
import * as core from '@actions/core'
import * as github from '@actions/github'
import { OUTPUT_NAMES, State } from './constants.js'
import { Cleanup, execute, runCleanup } from './execute.js'
import { outputsOf, prepare } from './pipeline.js'
import { writeSummary } from './summary.js'
import { rmSync } from 'node:fs'

async function post(): Promise<void> {
  const cleanup: Cleanup = JSON.parse(
    core.getState(State.Cleanup) || '{"localImages":[]}'
  ) as Cleanup
  await runCleanup(cleanup)
  const secret = core.getState(State.SecretFile)
  if (secret) rmSync(secret, { force: true })
}

export async function run(): Promise<void> {
  try {
    if (core.getState(State.IsPost) === 'true') {
      await post()
      return
    }
    core.saveState(State.IsPost, 'true')
    const extra = core.getInput('extra-index-url')
    if (extra) core.setSecret(extra)
    const prepared = prepare((name) => core.getInput(name), process.env, github.context.payload)
    const { plan, inputs } = prepared
    if (plan.common.pipConfFile) core.saveState(State.SecretFile, plan.common.pipConfFile)
    core.info(`Package ${plan.package.name} ${plan.package.version}, module ${plan.package.module}`)
    core.info(`Dockerfile: ${plan.dockerfilePath}`)
    let result
    if (!inputs.dockerfileOnly) {
      const cleanup: Cleanup = { localImages: [] }
      try {
        result = await execute(plan, inputs.qemuImage, prepared.runKey, cleanup)
      } finally {
        core.saveState(State.Cleanup, JSON.stringify(cleanup))
      }
    }
    const outputs = outputsOf(prepared, result)
    for (const name of OUTPUT_NAMES) core.setOutput(name, outputs[name])
    await writeSummary(plan, result)
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error))
  }
}
