/**
 * Time units, named with their unit so two files cannot disagree on what `minute` means: `…Ms` for timers and
 * Date.now(), `…Sec` for unix seconds and settings given in seconds.
 */
export const secondMs = 1000
export const minuteMs = 60 * secondMs
export const hourMs = 60 * minuteMs
export const dayMs = 24 * hourMs

export const minuteSec = 60
export const hourSec = 60 * minuteSec
export const daySec = 24 * hourSec
