/**
 * oclif's command_not_found hook: a mistyped command is a usage error with the nearest command suggested. With
 * topics separated by spaces, `rr history extra` also lands here (as `history:extra`): that one is an argument
 * the command does not take.
 */
import type { Hook } from '@oclif/core'
import { UsageError } from '../core/errors.js'
import { didYouMean } from '../core/suggest.js'

const hook: Hook<'command_not_found'> = async function ({ id }) {
  const [word = id, ...rest] = id.split(':')
  if (rest.length > 0 && this.config.commandIDs.includes(word)) {
    throw new UsageError(`unexpected argument '${rest.join(' ')}' for rr ${word}; \`rr ${word} --help\` shows the usage`)
  }
  throw new UsageError(`unknown command '${word}'${didYouMean(word, this.config.commandIDs)}; \`rr --help\` lists the commands`)
}

export default hook
