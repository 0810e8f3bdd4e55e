/**
 * What a run must undo (its builder, its local images, its temp directory with pip.conf),
 * recorded the moment each exists: the post step, or a cancelled run, finds it all.
 */
import { rmSync } from 'node:fs'
import { docker } from './docker.js'

export interface CleanupState {
  builder?: string
  localImages: string[]
  dirs: string[]
}

export class Cleanup {
  readonly state: CleanupState = { localImages: [], dirs: [] }

  /** `persist` runs after every change (the action saves it as step state at once). */
  constructor(private readonly persist: (state: CleanupState) => void = () => undefined) {}

  private changed(): void {
    this.persist(this.state)
  }

  builder(name: string): void {
    this.state.builder = name
    this.changed()
  }

  images(...refs: string[]): void {
    for (const r of refs) if (!this.state.localImages.includes(r)) this.state.localImages.push(r)
    this.changed()
  }

  dir(path: string): void {
    this.state.dirs.push(path)
    this.changed()
  }
}

export async function runCleanup(state: CleanupState): Promise<void> {
  for (const dir of state.dirs) rmSync(dir, { recursive: true, force: true })
  if (state.localImages.length > 0) {
    await docker(['image', 'rm', '--force', ...state.localImages], {
      allowFailure: true,
      silent: true
    })
  }
  if (state.builder) await docker(['buildx', 'rm', state.builder], { allowFailure: true })
}

let cancelledBy: string | undefined

/** The signal that cancelled the run, if one did: nothing may be pushed or saved after it. */
export const cancelled = (): string | undefined => cancelledBy

export class CancelledError extends Error {
  constructor(what: string) {
    super(`Cancelled (${cancelledBy ?? 'signal'}) before ${what}: no tag moved, nothing saved.`)
    this.name = 'CancelledError'
  }
}

/** Throws when the run was cancelled; called before every registry write and cache save. */
export function checkNotCancelled(what: string): void {
  if (cancelledBy) throw new CancelledError(what)
}

/**
 * On SIGINT or SIGTERM (a cancelled job): stop docker, undo what exists, exit. The runner sends
 * SIGINT first, then SIGTERM; the second signal finds the work already under way.
 */
export function onCancel(
  stop: () => void,
  state: () => CleanupState,
  log: (msg: string) => void
): void {
  current = { stop, state, log }
  if (listening) return
  listening = true
  const handler = (signal: NodeJS.Signals): void => {
    if (cancelledBy || !current) return
    cancelledBy = signal
    current.log(
      `Cancelled by ${signal}: stopping docker, cleaning up; no tag moves, nothing is saved.`
    )
    current.stop()
    void runCleanup(current.state()).finally(() => process.exit(130))
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}

/** One handler per process, for the run that registered last. */
let listening = false
let current: { stop: () => void; state: () => CleanupState; log: (msg: string) => void } | undefined
