import { describe, expect, test } from '@jest/globals'
import { decidePush, workflowContext, WorkflowContext } from '../src/workflow.js'

const ENV = {
  GITHUB_EVENT_NAME: 'pull_request',
  GITHUB_REF: 'refs/pull/12/merge',
  GITHUB_SHA: 'abcdef0123456789abcdef0123456789abcdef01',
  GITHUB_REPOSITORY: 'org/app'
}

const prPayload = (head: { full_name?: string } | null | undefined): object => ({
  pull_request: { number: 12, head: head === undefined ? {} : { repo: head } },
  repository: { full_name: 'org/app', default_branch: 'main' }
})

describe('workflowContext', () => {
  test('a push: env values, default branch from the payload, no PR', () => {
    const ctx = workflowContext(
      { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/dev', GITHUB_SHA: ENV.GITHUB_SHA },
      { repository: { full_name: 'org/app', default_branch: 'main' } }
    )
    expect(ctx).toEqual({
      eventName: 'push',
      ref: 'refs/heads/dev',
      sha: ENV.GITHUB_SHA,
      prNumber: undefined,
      fromFork: false,
      defaultBranch: 'main',
      repository: 'org/app'
    })
  })

  test('empty env and payload give empty strings, not undefined', () => {
    expect(workflowContext({}, {})).toEqual({
      eventName: '',
      ref: '',
      sha: '',
      prNumber: undefined,
      fromFork: false,
      defaultBranch: undefined,
      repository: ''
    })
  })

  test.each<[string, object, boolean]>([
    ['head repo = base repo', prPayload({ full_name: 'org/app' }), false],
    ['head repo ≠ base repo', prPayload({ full_name: 'someone/app' }), true],
    ['deleted head repo (null)', prPayload(null), true],
    ['head without repo', prPayload(undefined), true],
    [
      'no repository in the payload: GITHUB_REPOSITORY is the base',
      { pull_request: { number: 12, head: { repo: { full_name: 'org/app' } } } },
      false
    ],
    [
      'no repository in the payload, fork',
      { pull_request: { number: 12, head: { repo: { full_name: 'fork/app' } } } },
      true
    ]
  ])('fork detection: %s → %s', (_name, payload, fork) => {
    const ctx = workflowContext(ENV, payload)
    expect(ctx.fromFork).toBe(fork)
    expect(ctx.prNumber).toBe(12)
    expect(ctx.repository).toBe('org/app')
  })
})

const ctx = (eventName: string, fromFork = false): WorkflowContext => ({
  eventName,
  ref: 'refs/heads/main',
  sha: ENV.GITHUB_SHA,
  fromFork,
  repository: 'org/app',
  ...(fromFork || eventName.startsWith('pull_request') ? { prNumber: 3 } : {})
})

describe('decidePush', () => {
  test.each<[string, string, WorkflowContext, boolean]>([
    ["'' on push to a branch", '', ctx('push'), true],
    ["'' on push of a tag", '', { ...ctx('push'), ref: 'refs/tags/v1.0.0' }, true],
    ["'' on release", '', ctx('release'), true],
    ["'' on workflow_dispatch", '', ctx('workflow_dispatch'), true],
    ["'' on pull_request", '', ctx('pull_request'), false],
    ["'true' on same-repo pull_request", 'true', ctx('pull_request'), true],
    ["'false' on same-repo pull_request", 'false', ctx('pull_request'), false],
    ["'true' on fork pull_request", 'true', ctx('pull_request', true), false],
    ["'' on fork pull_request", '', ctx('pull_request', true), false],
    ["'' on pull_request_target", '', ctx('pull_request_target'), false],
    ["'true' on pull_request_target", 'true', ctx('pull_request_target'), false],
    ["'true' on fork pull_request_target", 'true', ctx('pull_request_target', true), false],
    ["'false' on push", 'false', ctx('push'), false],
    ["'true' on push", 'true', ctx('push'), true],
    // fromFork means "its code must never push", whatever the event that carried the PR
    ["'' on a fork's pull_request_review", '', ctx('pull_request_review', true), false],
    [
      "'true' on a fork's pull_request_review_comment",
      'true',
      ctx('pull_request_review_comment', true),
      false
    ]
  ])('%s', (_name, input, context, push) => {
    const decision = decidePush(input, context)
    expect(decision.push).toBe(push)
    expect(decision.reason).not.toBe('')
  })

  test('the reason says why', () => {
    expect(decidePush('true', ctx('pull_request_target')).reason).toMatch(/pull_request_target/)
    expect(decidePush('true', ctx('pull_request', true)).reason).toMatch(/fork/)
    expect(decidePush('', ctx('pull_request')).reason).toMatch(/pull request/)
    expect(decidePush('', ctx('push')).reason).toMatch(/push/)
  })

  test('from env + payload: a fork PR with push: true does not push', () => {
    const context = workflowContext(ENV, prPayload({ full_name: 'evil/app' }))
    expect(decidePush('true', context).push).toBe(false)
  })
})
