/** What the workflow run says about itself: event, ref, sha, pull request and fork. */

export interface WorkflowContext {
  eventName: string
  ref: string
  sha: string
  prNumber?: number
  /** The pull request's head lives in another repository: its code must never push. */
  fromFork: boolean
  defaultBranch?: string
  repository: string
}

interface Payload {
  pull_request?: { number?: number; head?: { repo?: { full_name?: string } | null } }
  repository?: { full_name?: string; default_branch?: string }
}

/** Built from the same values @actions/github's context reads (GITHUB_* and the event file). */
export function workflowContext(env: NodeJS.ProcessEnv, payload: Payload): WorkflowContext {
  const pr = payload.pull_request
  const headRepo = pr?.head?.repo?.full_name
  const baseRepo = payload.repository?.full_name ?? env['GITHUB_REPOSITORY'] ?? ''
  return {
    eventName: env['GITHUB_EVENT_NAME'] ?? '',
    ref: env['GITHUB_REF'] ?? '',
    sha: env['GITHUB_SHA'] ?? '',
    prNumber: pr?.number,
    // A deleted fork has no head repo: treat it as a fork.
    fromFork: pr !== undefined && (headRepo === undefined || headRepo !== baseRepo),
    defaultBranch: payload.repository?.default_branch,
    repository: baseRepo
  }
}

export interface PushDecision {
  push: boolean
  reason: string
}

/** `push` defaults to false on pull requests; forks and pull_request_target never push. */
export function decidePush(pushInput: string, ctx: WorkflowContext): PushDecision {
  const isPr = ctx.eventName === 'pull_request' || ctx.eventName === 'pull_request_target'
  if (ctx.eventName === 'pull_request_target') {
    return { push: false, reason: 'pull_request_target runs never push' }
  }
  if (ctx.fromFork) {
    return { push: false, reason: 'a pull request from a fork never pushes' }
  }
  if (pushInput === '') {
    return isPr
      ? { push: false, reason: 'push defaults to false on pull requests' }
      : { push: true, reason: `push defaults to true on ${ctx.eventName || 'this event'}` }
  }
  const push = pushInput === 'true'
  return { push, reason: `push: ${push}` }
}
