// Thin wrappers over the docker CLI for the e2e suite: captured output, loud failures.
import { execFile, execFileSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import path from 'node:path'

let chosen: string | undefined

/**
 * The docker client every e2e helper uses. A client-only binary early in PATH may not talk to
 * this engine, so take the first candidate (`WSA_DOCKER`, each `docker` on PATH, then Debian's
 * /usr/bin/docker) whose `docker version` reaches a server. Not cached until one works, so a
 * test started before dockerd is up fails clearly instead of remembering a bad choice.
 */
export function dockerBin(): string {
  if (chosen) return chosen
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'docker'))
  const candidates = [...new Set([process.env.WSA_DOCKER, ...onPath, '/usr/bin/docker'])]
  const tried: string[] = []
  for (const bin of candidates) {
    if (!bin || !isExecutable(bin)) continue
    try {
      execFileSync(bin, ['version', '--format', '{{.Server.Version}}'], {
        stdio: 'pipe',
        timeout: 20_000
      })
      chosen = bin
      return bin
    } catch (err) {
      tried.push(`${bin}: ${firstLine(err)}`)
    }
  }
  throw new Error(
    `No docker client reaches a Docker engine (is dockerd running?). Tried:\n${tried.join('\n')}`
  )
}

export interface DockerOptions {
  cwd?: string
  /** Added to this process's environment. */
  env?: Record<string, string>
  /** Written to the command's stdin. */
  input?: string | Buffer
  timeoutMs?: number
}

export interface DockerResult {
  stdout: string
  stderr: string
}

/** A failed docker command, with everything needed to see why in a test report. */
export class DockerError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string
  ) {
    super(
      `docker ${args.join(' ')} failed (exit ${exitCode ?? 'signal'}):\n${tail(stderr || stdout)}`
    )
    this.name = 'DockerError'
  }
}

/** Runs `docker ...args`; resolves with its output, rejects with a DockerError on failure. */
export function docker(args: string[], opts: DockerOptions = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      dockerBin(),
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        maxBuffer: 256 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 20 * 60_000,
        encoding: 'utf8'
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr })
        const code = typeof err.code === 'number' ? err.code : null
        reject(new DockerError(args, code, stdout, stderr || err.message))
      }
    )
    if (opts.input !== undefined) child.stdin?.end(opts.input)
    else child.stdin?.end()
  })
}

export interface RunImageOptions {
  /** Extra `docker run` options before the image, e.g. ['-v', 'dir:/dist:ro']. */
  runArgs?: string[]
  entrypoint?: string
  /** Default 'always': run what the registry holds now, not a stale local copy of the tag. */
  pull?: 'always' | 'missing' | 'never'
  timeoutMs?: number
}

/** `docker run --rm --platform <platform> <ref> ...args` (QEMU runs foreign platforms). */
export function runImage(
  ref: string,
  platform: string,
  args: string[] = [],
  opts: RunImageOptions = {}
): Promise<DockerResult> {
  const entrypoint = opts.entrypoint === undefined ? [] : ['--entrypoint', opts.entrypoint]
  return docker(
    [
      'run',
      '--rm',
      '--pull',
      opts.pull ?? 'always',
      '--platform',
      platform,
      ...entrypoint,
      ...(opts.runArgs ?? []),
      ref,
      ...args
    ],
    { timeoutMs: opts.timeoutMs }
  )
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string }
  const text = e.stderr?.toString().trim() || e.message || String(err)
  return text.split('\n')[0] ?? ''
}

function tail(text: string, max = 4000): string {
  return text.length > max ? `...${text.slice(-max)}` : text
}
