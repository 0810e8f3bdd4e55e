/** The last `n` lines of a command's output: what an error message quotes of it. */
export function lastLines(text: string, n: number, separator = '\n'): string {
  return text.trim().split('\n').slice(-n).join(separator)
}
