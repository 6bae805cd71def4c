/**
 * Preloaded with --import into an rr process under test: sends the process SIGTERM from inside the stdout write
 * whose text matches RR_TEST_SIGNAL_AT, i.e. the instant a server prints its address. Without a listener by then,
 * the default action ends the process there; with one, the signal waits for the event loop. Turns the "signal
 * before listener" race into a certainty.
 */
const pattern = process.env.RR_TEST_SIGNAL_AT
if (pattern != null && pattern !== '') {
  const ready = new RegExp(pattern)
  const write = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean
  let sent = false
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    const written = write(chunk, ...rest)
    if (!sent && ready.test(String(chunk))) {
      sent = true
      process.kill(process.pid, 'SIGTERM')
    }
    return written
  }) as typeof process.stdout.write
}
