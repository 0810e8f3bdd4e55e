/** Shared test data for the pure plan: an input reader from a Record, a context, dist files. */
import { InputName } from '../src/constants.js'
import { InputReader, Inputs, parseInputs } from '../src/inputs.js'
import { BuildPlan, makePlan, PlanPaths, WorkspaceFacts } from '../src/plan.js'
import { WorkflowContext } from '../src/workflow.js'

export type RawInputs = Partial<Record<InputName, string>>

/** What core.getInput would return for these inputs: '' for anything unset. */
export function reader(values: RawInputs): InputReader {
  return (name) => values[name] ?? ''
}

export const parse = (values: RawInputs): Inputs => parseInputs(reader(values))

export const SHA = '0123456789abcdef0123456789abcdef01234567'

/** A push to the default branch of a repository: a trusted run. */
export function pushContext(overrides: Partial<WorkflowContext> = {}): WorkflowContext {
  return {
    eventName: 'push',
    ref: 'refs/heads/main',
    sha: SHA,
    defaultBranch: 'main',
    repository: 'org/app',
    serverUrl: 'https://github.com',
    ...overrides
  }
}

export const DIST_FILES = ['my_app-1.0.0.tar.gz', 'my_app-1.0.0-py3-none-any.whl']
export const EPOCH = '1700000000'
export const FACTS: WorkspaceFacts = {
  distFiles: DIST_FILES,
  requirementHashes: false,
  sourceDateEpoch: EPOCH,
  packageInfo: {}
}
export const PATHS: PlanPaths = { workspace: '/work/space', tempDir: '/run/tmp/wheel-slim-x' }
export const RUN_KEY = 'abc123def456'

/** parseInputs + makePlan with the shared context, workspace facts and paths. */
export function plan(
  values: RawInputs,
  ctx: WorkflowContext = pushContext(),
  facts: Partial<WorkspaceFacts> = {}
): BuildPlan {
  return makePlan(parse(values), ctx, { ...FACTS, ...facts }, PATHS, RUN_KEY)
}
