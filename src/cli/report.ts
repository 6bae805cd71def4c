/**
 * How every `rr` command, the oclif ones and the fast paths alike, turns an error into what the user sees: one line
 * naming the thing and the fix (the stack only with RUSTORY_DEBUG=1), and the exit code. oclif's own parse errors
 * (an unknown flag, a missing argument) become the same one line, with a suggestion for a mistyped flag.
 */
import { stripVTControlCharacters } from 'node:util'
import { debugEnabled } from '../config/settings.js'
import { errorReport, exitCodeOf, isUserFacing } from '../core/errors.js'
import { didYouMean } from '../core/suggest.js'
import { showControls } from '../core/escape.js'

export interface Reported {
  line: string
  exitCode: number
}

/** What a command's flags look like to the reporter: their names without dashes. */
export interface CommandShape {
  /** The command, e.g. `history` (for "see rr history --help"). */
  id?: string | undefined
  flags?: readonly string[]
}

function oneLine (text: string): string {
  return stripVTControlCharacters(text).split('\n').map((l) => l.trim()).filter((l) => l !== '').join(' ')
}

/** "Flag --x expects a value" reads as the rest of rr's messages: "flag --x expects a value". */
function lowerFirst (text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text
}

/** oclif's parse errors carry `parse` and `oclif.exit`; the rest of oclif's errors carry `oclif` only. */
function isOclifParseError (err: unknown): err is Error & { parse: unknown, flags?: string[] } {
  return err instanceof Error && 'parse' in err && 'oclif' in err
}

/**
 * The line and exit code for an error, its control characters shown as text: a message may quote what a peer, a
 * tracker or an invite code sent (src/core/escape.ts).
 */
export function reportError (err: unknown, command: CommandShape = {}, debug = debugEnabled()): Reported {
  const reported = report(err, command, debug)
  return { ...reported, line: showControls(reported.line) }
}

function report (err: unknown, command: CommandShape, debug: boolean): Reported {
  const help = command.id != null ? `rr ${command.id} --help` : 'rr --help'
  if (debug) return { line: errorReport(err, true), exitCode: exitCodeOf(err) }
  if (isUserFacing(err)) return { line: errorReport(err, false), exitCode: exitCodeOf(err) }
  if (isOclifParseError(err)) {
    // NonExistentFlagsError, told by its shape (a bundler may rename classes).
    if (Array.isArray(err.flags) && err.message.startsWith('Nonexistent flag')) {
      const known = (command.flags ?? []).map((f) => `--${f}`)
      const each = err.flags.map((f) => `${f}${didYouMean(f.split('=')[0]!, known)}`)
      return { line: `rr: unknown flag${each.length === 1 ? '' : 's'} ${each.join(', ')}; \`${help}\` lists the flags`, exitCode: 2 }
    }
    const message = oneLine(err.message.replace(/See more help with --help\s*$/, ''))
    return { line: `rr: ${lowerFirst(message)}; \`${help}\` shows the usage`, exitCode: 2 }
  }
  const oclifExit = (err as { oclif?: { exit?: unknown } }).oclif?.exit
  if (typeof oclifExit === 'number') {
    // oclif's own checks outside its parse errors: a flag without its value, say.
    const message = oneLine((err as Error).message)
    return { line: `rr: ${lowerFirst(message)}${command.id != null ? `; \`${help}\` shows the usage` : ''}`, exitCode: oclifExit }
  }
  return { line: errorReport(err, false), exitCode: exitCodeOf(err) }
}

/** oclif's `this.exit(n)` (and `--help` / `--version` when they end a command) travels as an error with code EEXIT. */
export function isExit (err: unknown): err is Error & { oclif: { exit: number } } {
  return (err as { code?: unknown } | undefined)?.code === 'EEXIT'
}
