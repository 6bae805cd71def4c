/**
 * Commands come from other devices, and a key holder can put anything in them: escape sequences that clear the
 * screen, set the window title or write the clipboard (OSC 52) when printed raw. Every path where rr shows a
 * command to a terminal or to fzf shows it through showControls; JSON output goes through jsonForTerminal, which
 * changes only how characters are written, never the value. Pure.
 *
 * Shown escaped: C0 controls (U+0000–U+001F) but tab and newline, as their Unicode control pictures (ESC as ␛, CR as
 * ␍, BEL as ␇); DEL as ␡; C1 controls (U+0080–U+009F, e.g. the one-byte CSI U+009B) and the bidirectional overrides
 * and isolates (U+202A–U+202E, U+2066–U+2069, which reorder what is shown) as `<U+XXXX>`.
 */

const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g
const unsafeTest = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

function picture (ch: string): string {
  const code = ch.charCodeAt(0)
  if (code < 0x20) return String.fromCharCode(0x2400 + code)
  if (code === 0x7f) return '\u2421'
  return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`
}

/** True when showControls would change the text. */
export function hasControls (text: string): boolean {
  return unsafeTest.test(text)
}

/** The text with every control character a terminal would act on shown as visible text (tab and newline kept). */
export function showControls (text: string): string {
  return unsafeTest.test(text) ? text.replace(unsafe, picture) : text
}

const jsonUnsafe = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/**
 * JSON.stringify of a value, with the characters it leaves raw that a terminal may act on (DEL, C1, bidi controls)
 * written as \uXXXX escapes: the same JSON value, byte-safe on a terminal. (JSON.stringify escapes C0 itself.)
 */
export function jsonForTerminal (value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(jsonUnsafe, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
