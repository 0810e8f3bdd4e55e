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

/** The RUN whose exec form runs `python3 -m pip <verb>`. */
export function pipRun(s: Stage, verb: string): { instruction: ParsedInstruction; argv: string[] } {
  for (const instruction of s.instructions) {
    if (instruction.keyword !== 'RUN') continue
    const argv = execForm(instruction)
    if (argv.slice(0, 4).join(' ') === `python3 -m pip ${verb}`) return { instruction, argv }
  }
  throw new Error(`no pip ${verb} in stage ${s.name ?? '?'}`)
}
