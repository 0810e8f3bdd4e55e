import { describe, expect, test } from '@jest/globals'
import {
  decideCacheSave,
  decidePush,
  untrustedReason,
  workflowContext,
  WorkflowContext
} from '../src/workflow.js'

const REPO = 'org/app'
const SHA = 'abcdef0123456789abcdef0123456789abcdef01'
const repository = { full_name: REPO, default_branch: 'main', private: false }
const sender = { login: 'someone', type: 'User' }

// Event payloads trimmed to what matters, in the shape the runner writes to GITHUB_EVENT_PATH.
const prObject = (head: { full_name: string } | null): object => ({
  number: 7,
  state: 'open',
  head: { ref: 'feature', sha: SHA, repo: head, label: 'x:feature' },
  base: { ref: 'main', sha: SHA, repo: { full_name: REPO } }
})
const pr = (head: { full_name: string } | null): object => ({
  action: 'opened',
  number: 7,
  pull_request: prObject(head),
  repository,
  sender
})
const review = (head: { full_name: string } | null): object => ({
  action: 'submitted',
  review: { id: 1, state: 'approved' },
  pull_request: prObject(head),
  repository,
  sender
})
const reviewComment = (head: { full_name: string } | null): object => ({
  action: 'created',
  comment: { id: 1, body: 'looks good' },
  pull_request: prObject(head),
  repository,
  sender
})
const workflowRun = (head: { full_name: string } | null): object => ({
  action: 'completed',
  workflow_run: {
    id: 9,
    event: 'pull_request',
    head_branch: 'feature',
    head_sha: SHA,
    head_repository: head,
    repository: { full_name: REPO }
  },
  repository,
  sender
})
const issueComment = (onPullRequest: boolean): object => ({
  action: 'created',
  issue: {
    number: 3,
    title: 'x',
    ...(onPullRequest
      ? { pull_request: { url: `https://api.github.com/repos/${REPO}/pulls/3`, merged_at: null } }
      : {})
  },
  comment: { id: 2, body: '/build' },
  repository,
  sender
})

const same = { full_name: REPO }
const fork = { full_name: 'someone/app' }

interface Row {
  name: string
  event: string
  ref: string
  payload: object
  /** A pattern of the untrusted reason, or undefined for a trusted run. */
  untrusted?: RegExp
  /** What push '' (the event's default) decides. */
  pushByDefault: boolean
}

const ROWS: Row[] = [
  {
    name: 'push to a branch',
    event: 'push',
    ref: 'refs/heads/main',
    payload: { ref: 'refs/heads/main', after: SHA, repository, sender },
    pushByDefault: true
  },
  {
    name: 'push of a tag',
    event: 'push',
    ref: 'refs/tags/v1.2.3',
    payload: { ref: 'refs/tags/v1.2.3', after: SHA, repository, sender },
    pushByDefault: true
  },
  {
    name: 'pull_request, same repository',
    event: 'pull_request',
    ref: 'refs/pull/7/merge',
    payload: pr(same),
    pushByDefault: false
  },
  {
    name: 'pull_request from a fork',
    event: 'pull_request',
    ref: 'refs/pull/7/merge',
    payload: pr(fork),
    untrusted: /^pull_request from a fork$/,
    pushByDefault: false
  },
  {
    name: 'pull_request whose head repository was deleted',
    event: 'pull_request',
    ref: 'refs/pull/7/merge',
    payload: pr(null),
    untrusted: /fork/,
    pushByDefault: false
  },
  {
    name: 'pull_request_target, same repository',
    event: 'pull_request_target',
    ref: 'refs/heads/main',
    payload: pr(same),
    untrusted: /pull_request_target/,
    pushByDefault: false
  },
  {
    name: 'pull_request_target from a fork',
    event: 'pull_request_target',
    ref: 'refs/heads/main',
    payload: pr(fork),
    untrusted: /pull_request_target/,
    pushByDefault: false
  },
  {
    name: 'pull_request_review, same repository',
    event: 'pull_request_review',
    ref: 'refs/pull/7/merge',
    payload: review(same),
    pushByDefault: false
  },
  {
    name: 'pull_request_review from a fork',
    event: 'pull_request_review',
    ref: 'refs/pull/7/merge',
    payload: review(fork),
    untrusted: /^pull_request_review from a fork$/,
    pushByDefault: false
  },
  {
    name: 'pull_request_review_comment, same repository',
    event: 'pull_request_review_comment',
    ref: 'refs/pull/7/merge',
    payload: reviewComment(same),
    pushByDefault: false
  },
  {
    name: 'pull_request_review_comment from a fork',
    event: 'pull_request_review_comment',
    ref: 'refs/pull/7/merge',
    payload: reviewComment(fork),
    untrusted: /^pull_request_review_comment from a fork$/,
    pushByDefault: false
  },
  {
    name: 'workflow_run of a same-repository run',
    event: 'workflow_run',
    ref: 'refs/heads/main',
    payload: workflowRun(same),
    pushByDefault: true
  },
  {
    name: "workflow_run of a fork's run",
    event: 'workflow_run',
    ref: 'refs/heads/main',
    payload: workflowRun(fork),
    untrusted: /someone\/app/,
    pushByDefault: true
  },
  {
    name: 'workflow_run whose head repository was deleted',
    event: 'workflow_run',
    ref: 'refs/heads/main',
    payload: workflowRun(null),
    untrusted: /deleted repository/,
    pushByDefault: true
  },
  {
    name: 'issue_comment on an issue',
    event: 'issue_comment',
    ref: 'refs/heads/main',
    payload: issueComment(false),
    pushByDefault: true
  },
  {
    name: 'issue_comment on a pull request',
    event: 'issue_comment',
    ref: 'refs/heads/main',
    payload: issueComment(true),
    untrusted: /issue_comment on a pull request/,
    pushByDefault: true
  },
  {
    name: 'merge_group',
    event: 'merge_group',
    ref: 'refs/heads/gh-readonly-queue/main/pr-7-abc',
    payload: {
      action: 'checks_requested',
      merge_group: {
        head_sha: SHA,
        head_ref: 'refs/heads/gh-readonly-queue/main/pr-7-abc',
        base_ref: 'refs/heads/main'
      },
      repository,
      sender
    },
    pushByDefault: false
  },
  {
    name: 'schedule (no repository in the payload)',
    event: 'schedule',
    ref: 'refs/heads/main',
    payload: { schedule: '0 3 * * *' },
    pushByDefault: true
  },
  {
    name: 'workflow_dispatch',
    event: 'workflow_dispatch',
    ref: 'refs/heads/main',
    payload: { inputs: {}, ref: 'refs/heads/main', repository, sender },
    pushByDefault: true
  },
  {
    name: 'release',
    event: 'release',
    ref: 'refs/tags/v1.2.3',
    payload: { action: 'published', release: { tag_name: 'v1.2.3' }, repository, sender },
    pushByDefault: true
  }
]

const env = (row: Row): NodeJS.ProcessEnv => ({
  GITHUB_EVENT_NAME: row.event,
  GITHUB_REF: row.ref,
  GITHUB_SHA: SHA,
  GITHUB_REPOSITORY: REPO
})

describe('trust, push and cache save, event by event', () => {
  test.each(ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const ctx = workflowContext(env(row), row.payload)
    expect(ctx.eventName).toBe(row.event)
    expect(ctx.repository).toBe(REPO)
    if (row.untrusted) expect(ctx.untrustedReason).toMatch(row.untrusted)
    else expect(ctx.untrustedReason).toBeUndefined()
    expect(untrustedReason(row.event, row.payload, REPO)).toBe(ctx.untrustedReason)

    const trusted = row.untrusted === undefined
    const decisions = Object.fromEntries(
      ['', 'true', 'false'].map((input) => [input, decidePush(input, ctx).push])
    )
    expect(decisions).toEqual({
      '': trusted && row.pushByDefault,
      true: trusted,
      false: false
    })
    expect(decideCacheSave(ctx).save).toBe(trusted)
  })

  test('the table covers every event kind, trusted and untrusted runs', () => {
    const events = new Set(ROWS.map((r) => r.event))
    expect([...events].sort()).toEqual([
      'issue_comment',
      'merge_group',
      'pull_request',
      'pull_request_review',
      'pull_request_review_comment',
      'pull_request_target',
      'push',
      'release',
      'schedule',
      'workflow_dispatch',
      'workflow_run'
    ])
    expect(ROWS.filter((r) => r.untrusted).length).toBeGreaterThan(5)
    expect(ROWS.filter((r) => !r.untrusted).length).toBeGreaterThan(5)
  })
})

describe('workflowContext', () => {
  test('a push: env values, default branch from the payload, no PR', () => {
    const ctx = workflowContext(
      { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/dev', GITHUB_SHA: SHA },
      { repository }
    )
    expect(ctx).toEqual({
      eventName: 'push',
      ref: 'refs/heads/dev',
      sha: SHA,
      prNumber: undefined,
      untrustedReason: undefined,
      defaultBranch: 'main',
      repository: REPO,
      serverUrl: 'https://github.com'
    })
  })

  test('GITHUB_SERVER_URL (GitHub Enterprise Server) is where the source label points', () => {
    const ctx = workflowContext(
      { GITHUB_EVENT_NAME: 'push', GITHUB_SERVER_URL: 'https://git.example.com' },
      { repository }
    )
    expect(ctx.serverUrl).toBe('https://git.example.com')
  })

  test('a pull request: its number', () => {
    const row = ROWS.find((r) => r.name === 'pull_request, same repository') as Row
    expect(workflowContext(env(row), row.payload).prNumber).toBe(7)
  })

  test('empty env and payload give empty strings, not undefined', () => {
    expect(workflowContext({}, {})).toEqual({
      eventName: '',
      ref: '',
      sha: '',
      prNumber: undefined,
      untrustedReason: undefined,
      defaultBranch: undefined,
      repository: '',
      serverUrl: 'https://github.com'
    })
  })

  test.each<[string, object, boolean]>([
    [
      'no repository in the payload: GITHUB_REPOSITORY is the base',
      { pull_request: { number: 12, head: { repo: { full_name: REPO } } } },
      false
    ],
    [
      'no repository in the payload, fork',
      { pull_request: { number: 12, head: { repo: { full_name: 'fork/app' } } } },
      true
    ],
    ['a head without repo counts as a fork', { pull_request: { number: 12, head: {} } }, true]
  ])('%s', (_name, payload, untrusted) => {
    const ctx = workflowContext(
      { GITHUB_EVENT_NAME: 'pull_request', GITHUB_REPOSITORY: REPO },
      payload
    )
    expect(ctx.untrustedReason !== undefined).toBe(untrusted)
    expect(ctx.prNumber).toBe(12)
  })
})

const ctx = (eventName: string, untrusted?: string): WorkflowContext => ({
  eventName,
  ref: 'refs/heads/main',
  sha: SHA,
  repository: REPO,
  serverUrl: 'https://github.com',
  ...(untrusted ? { untrustedReason: untrusted } : {})
})

describe('decidePush and decideCacheSave: the reasons say why', () => {
  test.each<[string, string, WorkflowContext, boolean, RegExp]>([
    [
      'push input true, untrusted',
      'true',
      ctx('pull_request', 'pull_request from a fork'),
      false,
      /^never pushes: pull_request from a fork$/
    ],
    ['push input true, trusted', 'true', ctx('pull_request'), true, /^push: true$/],
    ['push input false', 'false', ctx('push'), false, /^push: false$/],
    ["'' on pull_request", '', ctx('pull_request'), false, /defaults to false on pull_request/],
    ["'' on merge_group", '', ctx('merge_group'), false, /defaults to false on merge_group/],
    ["'' on push", '', ctx('push'), true, /defaults to true on push/],
    ["'' with no event name", '', ctx(''), true, /defaults to true on this event/]
  ])('%s', (_name, input, context, push, reason) => {
    expect(decidePush(input, context)).toEqual({ push, reason: expect.stringMatching(reason) })
  })

  test('cache save: trusted runs save, untrusted ones say why not', () => {
    expect(decideCacheSave(ctx('push'))).toEqual({ save: true, reason: 'trusted run' })
    expect(decideCacheSave(ctx('pull_request', 'pull_request from a fork'))).toEqual({
      save: false,
      reason: 'not saved: pull_request from a fork'
    })
  })
})
