/**
 * The one place that runs docker: argv only, never a shell. Running children are tracked so
 * that a cancelled run can stop them before it cleans up.
 */
import { ChildProcess, spawn } from 'node:child_process'
import { lastLines } from './output.js'

export interface DockerResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface DockerOptions {
  /** Return a failing result instead of throwing. */
  allowFailure?: boolean
  /** Keep docker's output out of the log (it is still returned). */
  silent?: boolean
  /** Added to the environment. */
  env?: Record<string, string>
}

const running = new Set<ChildProcess>()

/** Stops every docker command still running (a cancelled run). */
export function stopAll(): void {
  for (const child of running) child.kill('SIGTERM')
}

export class DockerError extends Error {
  constructor(
    readonly args: string[],
    readonly result: DockerResult
  ) {
    const tail = lastLines(result.stderr || result.stdout, 15)
    super(`docker ${args.slice(0, 2).join(' ')} failed (exit ${result.exitCode}):\n${tail}`)
    this.name = 'DockerError'
  }
}

export function docker(args: string[], opts: DockerOptions = {}): Promise<DockerResult> {
  if (!opts.silent) process.stdout.write(`[command]docker ${args.join(' ')}\n`)
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    running.add(child)
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => {
      out.push(chunk)
      if (!opts.silent) process.stdout.write(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      err.push(chunk)
      if (!opts.silent) process.stdout.write(chunk)
    })
    child.on('error', (error) => {
      running.delete(child)
      reject(
        new Error(
          `docker could not be started (${error.message}): is Docker installed and on PATH?`
        )
      )
    })
    child.on('close', (code, signal) => {
      running.delete(child)
      const result = {
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString()
      }
      if (result.exitCode !== 0 && !opts.allowFailure) reject(new DockerError(args, result))
      else resolve(result)
    })
  })
}
