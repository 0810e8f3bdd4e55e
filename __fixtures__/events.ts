/**
 * Workflow runs as the runner presents them: the event payload it writes to GITHUB_EVENT_PATH
 * (__fixtures__/events/*.json, trimmed copies of real payloads) and the GITHUB_* variables beside
 * it, made to agree on the ref. `workflowContext(env, payload)` reads both, as main.ts does.
 */
import { readFileSync } from 'node:fs'
import { WorkflowContext, workflowContext } from '../src/workflow.js'

/** The commit every fixture event is about: its sha tag is sha-abcdef0. */
export const EVENT_SHA = 'abcdef0123456789abcdef0123456789abcdef01'

const FILES: Record<string, string> = {
  pull_request: 'pull_request',
  pull_request_target: 'pull_request_target',
  workflow_dispatch: 'workflow_dispatch',
  schedule: 'schedule',
  release: 'release',
  merge_group: 'merge_group'
}

type Json = Record<string, unknown>

/** The payload file of an event (push: of a branch or of a tag, by the ref). */
export function payloadFile(eventName: string, ref: string): string {
  if (eventName === 'push') return ref.startsWith('refs/tags/') ? 'push-tag' : 'push-branch'
  const file = FILES[eventName]
  if (!file) throw new Error(`no payload fixture for ${eventName}`)
  return file
}

export function readPayload(file: string): Json {
  return JSON.parse(readFileSync(new URL(`./events/${file}.json`, import.meta.url), 'utf8')) as Json
}

export interface RunnerEvent {
  env: NodeJS.ProcessEnv
  payload: Json
}

/**
 * The env and payload of a run of `eventName` on `ref` (GITHUB_REF), the payload's own ref
 * fields set to match; `edit` changes the payload further (e.g. a pull request's number).
 */
export function runnerEvent(
  eventName: string,
  ref: string,
  edit: (payload: Json) => void = () => undefined
): RunnerEvent {
  const payload = readPayload(payloadFile(eventName, ref))
  const name = ref.replace(/^refs\/(heads|tags)\//, '')
  if (eventName === 'push' || eventName === 'workflow_dispatch') payload['ref'] = ref
  if (eventName === 'release') (payload['release'] as Json)['tag_name'] = name
  if (eventName === 'merge_group') (payload['merge_group'] as Json)['head_ref'] = ref
  edit(payload)
  const pr = eventName.startsWith('pull_request') ? (payload['pull_request'] as Json) : undefined
  const env: NodeJS.ProcessEnv = {
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: '/home/runner/work/_temp/_github_workflow/event.json',
    GITHUB_REF: ref,
    GITHUB_REF_NAME: eventName === 'pull_request' ? ref.split('/').slice(2).join('/') : name,
    GITHUB_REF_TYPE: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    GITHUB_SHA: EVENT_SHA,
    GITHUB_REPOSITORY: 'org/app',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_HEAD_REF: pr ? String((pr['head'] as Json)['ref']) : '',
    GITHUB_BASE_REF: pr ? String((pr['base'] as Json)['ref']) : ''
  }
  return { env, payload }
}

/** workflowContext of runnerEvent: what computeTags and makePlan get. */
export function runnerContext(
  eventName: string,
  ref: string,
  edit?: (payload: Json) => void
): WorkflowContext {
  const { env, payload } = runnerEvent(eventName, ref, edit)
  return workflowContext(env, payload)
}
