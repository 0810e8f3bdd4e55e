/** What the workflow run says about itself, and the one decision of what it may do: trust. */

export interface WorkflowContext {
  eventName: string
  ref: string
  sha: string
  prNumber?: number
  /** The code being built may come from someone without write access (a fork). */
  untrustedReason?: string
  defaultBranch?: string
  repository: string
  /** e.g. https://github.com: with `repository`, the source the images' labels point to. */
  serverUrl: string
}

interface Repo {
  full_name?: string
}
interface Payload {
  pull_request?: { number?: number; head?: { repo?: Repo | null } }
  repository?: Repo & { default_branch?: string }
  workflow_run?: { head_repository?: Repo | null; event?: string }
  issue?: { number?: number; pull_request?: object }
}

const PR_EVENTS = ['pull_request', 'pull_request_review', 'pull_request_review_comment']

/**
 * Why a run's code is not to be trusted with pushing and the cache, or undefined. Only what the
 * payload shows counts: when it cannot tell (a comment on a pull request), it assumes a fork.
 */
export function untrustedReason(
  eventName: string,
  payload: Payload,
  repo: string
): string | undefined {
  const fork = (head: Repo | null | undefined): boolean =>
    // A deleted fork has no head repository: a fork all the same.
    head?.full_name === undefined || head.full_name !== repo
  if (eventName === 'pull_request_target') {
    return "pull_request_target runs with the base repository's rights on behalf of any pull request"
  }
  if (
    PR_EVENTS.includes(eventName) &&
    payload.pull_request &&
    fork(payload.pull_request.head?.repo)
  ) {
    return `${eventName} from a fork`
  }
  if (
    eventName === 'workflow_run' &&
    payload.workflow_run &&
    fork(payload.workflow_run.head_repository)
  ) {
    return `workflow_run of a run on ${payload.workflow_run.head_repository?.full_name ?? 'a deleted repository'}'s code`
  }
  if (eventName === 'issue_comment' && payload.issue?.pull_request) {
    return 'issue_comment on a pull request (its payload cannot show whether the pull request comes from a fork)'
  }
  return undefined
}

/** Built from the same values @actions/github's context reads (GITHUB_* and the event file). */
export function workflowContext(env: NodeJS.ProcessEnv, payload: Payload): WorkflowContext {
  const repository = payload.repository?.full_name ?? env['GITHUB_REPOSITORY'] ?? ''
  const eventName = env['GITHUB_EVENT_NAME'] ?? ''
  return {
    eventName,
    ref: env['GITHUB_REF'] ?? '',
    sha: env['GITHUB_SHA'] ?? '',
    prNumber: payload.pull_request?.number,
    untrustedReason: untrustedReason(eventName, payload, repository),
    defaultBranch: payload.repository?.default_branch,
    repository,
    serverUrl: env['GITHUB_SERVER_URL'] ?? 'https://github.com'
  }
}

export interface PushDecision {
  push: boolean
  reason: string
}

/**
 * Untrusted runs never push, whatever `push` says; pull requests and merge queues build and
 * test but push only when asked to; everything else pushes by default.
 */
export function decidePush(pushInput: string, ctx: WorkflowContext): PushDecision {
  if (ctx.untrustedReason) {
    return { push: false, reason: `never pushes: ${ctx.untrustedReason}` }
  }
  if (pushInput !== '') {
    const push = pushInput === 'true'
    return { push, reason: `push: ${push}` }
  }
  if (PR_EVENTS.includes(ctx.eventName) || ctx.eventName === 'merge_group') {
    return { push: false, reason: `push defaults to false on ${ctx.eventName}` }
  }
  return { push: true, reason: `push defaults to true on ${ctx.eventName || 'this event'}` }
}

/** Only trusted runs save the wheel cache: a fork's wheels would be installed by the next release. */
export function decideCacheSave(ctx: WorkflowContext): { save: boolean; reason: string } {
  return ctx.untrustedReason
    ? { save: false, reason: `not saved: ${ctx.untrustedReason}` }
    : { save: true, reason: 'trusted run' }
}
