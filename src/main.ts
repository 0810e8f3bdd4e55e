/** The action: inputs from the runner, outputs and summary back to it, cleanup in post. */
import * as core from '@actions/core'
import * as github from '@actions/github'
import { Cleanup, CleanupState, onCancel, runCleanup } from './cleanup.js'
import { OUTPUT_NAMES, State } from './constants.js'
import { stopAll } from './docker.js'
import { execute } from './execute.js'
import { outputsOf, prepare } from './pipeline.js'
import { writeMergeSummary, writeSummary } from './summary.js'
import { executeMerge, makeMergePlan, mergeOutputs } from './merge.js'
import { parseInputs } from './inputs.js'
import { workflowContext } from './workflow.js'

async function post(): Promise<void> {
  const state = JSON.parse(
    core.getState(State.Cleanup) || '{"localImages":[],"dirs":[]}'
  ) as CleanupState
  await runCleanup(state)
}

/** The merge job: no build, only tags joining the matrix jobs' images. */
async function merge(): Promise<void> {
  const inputs = parseInputs((name) => core.getInput(name))
  const plan = makeMergePlan(inputs, workflowContext(process.env, github.context.payload))
  const result = await executeMerge(plan)
  for (const [name, value] of Object.entries(mergeOutputs(plan, result)))
    core.setOutput(name, value)
  await writeMergeSummary(plan.platforms, result.moves)
}

export async function run(): Promise<void> {
  try {
    if (core.getState(State.IsPost) === 'true') {
      await post()
      return
    }
    core.saveState(State.IsPost, 'true')
    const extra = core.getInput('extra-index-url')
    if (extra) {
      core.setSecret(extra)
      // The password alone may appear where the URL does not (an error message quoting it).
      const password = URL.canParse(extra) ? decodeURIComponent(new URL(extra).password) : ''
      if (password) core.setSecret(password)
    }
    // Recorded the moment each thing exists: a cancelled run's post step still finds it.
    const cleanup = new Cleanup((state) => core.saveState(State.Cleanup, JSON.stringify(state)))
    onCancel(
      stopAll,
      () => cleanup.state,
      (msg) => core.error(msg)
    )
    if (core.getInput('merge') === 'true') {
      await merge()
      return
    }
    const prepared = await prepare(
      (name) => core.getInput(name),
      process.env,
      github.context.payload,
      cleanup
    )
    const { plan, inputs } = prepared
    core.info(`Package ${plan.package.name} ${plan.package.version}, module ${plan.package.module}`)
    core.info(`Dockerfile: ${plan.files.dockerfile}`)
    const result = inputs.dockerfileOnly
      ? undefined
      : await execute(plan, inputs.qemuImage, prepared.runKey, cleanup)
    const outputs = outputsOf(prepared, result)
    for (const name of OUTPUT_NAMES) core.setOutput(name, outputs[name])
    await writeSummary(plan, result)
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error))
  }
}
