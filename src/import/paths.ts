/** Where each shell keeps its history by default. */
import { join } from 'node:path'
import { environment, expandHome, home } from '../config/settings.js'
import type { Shell } from './parsers.js'

type Env = Record<string, string | undefined>

/** ~/.bash_history; $HISTFILE or ~/.zsh_history; $XDG_DATA_HOME/fish/fish_history or ~/.local/share/fish/fish_history. */
export function defaultHistoryPath (shell: Shell, env: Env = environment()): string {
  switch (shell) {
    case 'bash': return join(home(env), '.bash_history')
    case 'zsh': return env.HISTFILE != null && env.HISTFILE !== '' ? expandHome(env.HISTFILE, env) : join(home(env), '.zsh_history')
    case 'fish': {
      const data = env.XDG_DATA_HOME != null && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : join(home(env), '.local', 'share')
      return join(data, 'fish', 'fish_history')
    }
  }
}
