/** The generated Dockerfile read back through dockerfile-ast, the way a test should look at it. */
import { DockerfileParser, From, ModifiableInstruction } from 'dockerfile-ast'

export interface Flag {
  name: string
  value: string | null
}

export interface ParsedInstruction {
  keyword: string
  flags: Flag[]
  /** Everything after the flags, as written. */
  args: string
}

export interface Stage {
  name: string | null
  from: string | null
  instructions: ParsedInstruction[]
}

export interface ParsedDockerfile {
  instructions: ParsedInstruction[]
  stages: Stage[]
  directives: string[]
  comments: string[]
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const df = DockerfileParser.parse(text)
  const stages: Stage[] = []
  const instructions = df.getInstructions().map((i): ParsedInstruction => {
    const parsed: ParsedInstruction = {
      keyword: i.getKeyword(),
      flags:
        i instanceof ModifiableInstruction
          ? i.getFlags().map((f) => ({ name: f.getName(), value: f.getValue() }))
          : [],
      args: i.getArgumentsContent() ?? ''
    }
    if (i instanceof From) {
      stages.push({ name: i.getBuildStage(), from: i.getImage(), instructions: [parsed] })
    } else {
      stages[stages.length - 1]?.instructions.push(parsed)
    }
    return parsed
  })
  return {
    instructions,
    stages,
    directives: df.getDirectives().map((d) => d.getName()),
    comments: df.getComments().map((c) => c.getContent())
  }
}

/** The JSON exec-form array of a RUN/ENTRYPOINT; throws unless it is an array of strings. */
export function execForm(i: ParsedInstruction): string[] {
  const value: unknown = JSON.parse(i.args)
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new Error(`${i.keyword} is not in exec form: ${i.args}`)
  }
  return value
}

export function stage(df: ParsedDockerfile, name: string): Stage {
  const s = df.stages.find((x) => x.name === name)
  if (!s) throw new Error(`no stage ${name}`)
  return s
}

export const mounts = (i: ParsedInstruction): string[] =>
  i.flags.filter((f) => f.name === 'mount').map((f) => f.value ?? '')

export const TOOL = '/wheel-slim/tools/wheel_slim.py'

export interface ToolRun {
  instruction: ParsedInstruction
  argv: string[]
  /** The stage script's sub-command: own, resolve, compile, collect or layout. */
  command: string
  /** Its JSON argument, parsed. */
  config: Record<string, unknown>
}

/**
 * The RUN of a stage that calls the stage script: directly (`python3 <script> <command> <json>`)
 * or through the compile stage's one-line shell guard (`/bin/sh -c <script> compile <json>`).
 */
export function toolRun(s: Stage): ToolRun {
  for (const instruction of s.instructions) {
    if (instruction.keyword !== 'RUN') continue
    const argv = execForm(instruction)
    const [command, json] =
      argv[0] === 'python3' && argv[1] === TOOL
        ? [argv[2], argv[3]]
        : argv[0] === '/bin/sh' && argv[3] === 'compile'
          ? [argv[3], argv[4]]
          : [undefined, undefined]
    if (command === undefined || json === undefined) continue
    const config: unknown = JSON.parse(json)
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      throw new Error(`the ${command} config is not a JSON object: ${json}`)
    }
    return { instruction, argv, command, config: config as Record<string, unknown> }
  }
  throw new Error(`no stage script RUN in stage ${s.name ?? '?'}`)
}

export const flag = (i: ParsedInstruction, name: string): string[] =>
  i.flags.filter((f) => f.name === name).map((f) => f.value ?? '')

export const argsOf = (s: Stage, keyword: string): string[] =>
  s.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)

// `s`: a JSON string may hold U+2028/U+2029, which JSON.stringify leaves as they are.
const EXEC_LINE = /^(RUN | {4}|ENTRYPOINT )(\[.*\])$/s

/**
 * The Dockerfile with every exec-form JSON array (RUN, ENTRYPOINT) replaced by `[]`: what is
 * left is everything a value could reach outside a JSON string. An array that is not valid
 * JSON of strings is left as it is, so it shows.
 */
export function outsideJson(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const m = EXEC_LINE.exec(line)
      if (!m) return line
      try {
        const value: unknown = JSON.parse(m[2] as string)
        const strings = Array.isArray(value) && value.every((v) => typeof v === 'string')
        return strings ? `${m[1] as string}[]` : line
      } catch {
        return line
      }
    })
    .join('\n')
}
