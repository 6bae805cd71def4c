/**
 * The daemon's log says what changed, never that nothing did: a line repeating the last one of its kind (same
 * peer or tracker, same outcome; timings ignored) is dropped, and a sync round that moved nothing is shown only
 * when it ends a run of failures; entries a peer pushed here are always shown. Pure; the caller writes what `accept` lets through.
 */

/**
 * Which line a new one replaces: its topic (`dial`, `sync`, `tracker`, …), the peer or tracker it is about, and
 * what it reports (`registered`, `knows`, `direct`, …; a sync round's outcome is one kind, ok or failed).
 */
export function lineKey (line: string): string {
  const topic = /^([a-z0-9-]+):/i.exec(line)?.[1] ?? ''
  const subject = /peer=(\S+)/.exec(line)?.[1] ?? /https?:\/\/[^\s:]+(:\d+)?\S*/.exec(line)?.[0] ?? ''
  const rest = line.slice(topic.length + 1).replace(subject, '').replace(/peer=/, '').trim()
  const verb = topic === 'sync' ? '' : (/^[a-z-]+/i.exec(rest)?.[0] ?? '')
  return `${topic}|${subject}|${verb}`
}

/** The line without what changes every time without meaning anything (timings, attempt counters). */
export function lineShape (line: string): string {
  if (/^sync: peer=\S+ ok /.test(line)) return 'sync ok'
  return line
    .replace(/(observed \/ip[46]\/[^/\s]+)\/tcp\/\d+/g, '$1')
    .replace(/\b\d+(\.\d+)?\s?(ms|s)\b/g, '#')
    .replace(/attempt \d+\/\d+/g, 'attempt #')
    .replace(/duration=\S+/g, '')
}

export interface QuietLog {
  /** Whether to write this line. */
  accept: (line: string) => boolean
}

export function createQuietLog (): QuietLog {
  const last = new Map<string, string>()
  return {
    accept: (line) => {
      const key = lineKey(line)
      const shape = lineShape(line)
      const moved = (/^sync: peer=\S+ ok /.test(line) && !/ inserted=0 pushed=0 /.test(line)) || /^received: peer=\S+ .*inserted=[1-9]/.test(line)
      const previous = last.get(key)
      last.set(key, shape)
      if (key === '||') return true
      return moved || previous !== shape
    }
  }
}
