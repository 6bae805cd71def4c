/** Feeds a whole history file to a parser line by line, as the streaming reader does, and collects the commands. */
import { parserFor, type ParsedCommand, type Shell } from '../../src/import/parsers.js'

export function parse (shell: Shell, file: Buffer): ParsedCommand[] {
  const out: ParsedCommand[] = []
  const parser = parserFor(shell, (c) => out.push(c))
  let offset = 0
  const lines = file.toString('latin1').split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  for (const line of lines) {
    const bytes = Buffer.from(line, 'latin1')
    offset += bytes.length + 1
    parser.line(bytes, offset)
  }
  parser.finish()
  return out
}
