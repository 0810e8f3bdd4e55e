/** The one place that runs docker: argv only, never a shell. */
import * as exec from '@actions/exec'

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
}

export async function docker(args: string[], opts: DockerOptions = {}): Promise<DockerResult> {
  const r = await exec.getExecOutput('docker', args, {
    ignoreReturnCode: true,
    silent: opts.silent ?? false
  })
  if (r.exitCode !== 0 && !opts.allowFailure) {
    const tail = r.stderr.trim().split('\n').slice(-15).join('\n')
    throw new Error(`docker ${args.slice(0, 2).join(' ')} failed (exit ${r.exitCode}):\n${tail}`)
  }
  return r
}
