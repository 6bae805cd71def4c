# rustory (rr) bash integration. Load it with:  eval "$(rr init bash)"
#
# - PROMPT_COMMAND records the command that just finished: its history line (multi-line too), the directory it
#   started in, its exit code and duration. Works when PROMPT_COMMAND is a string or an array (bash 5.1+), and
#   keeps what is already there. A history line is recorded once: pressing Enter on an empty line records nothing.
# - The start time and directory are taken in PS0 (expanded by bash after it reads a command, before running it),
#   through expansions that assign and print nothing; no DEBUG trap is taken from other tools.
# - Recording runs in a detached background subshell: the prompt never waits for it.
# - RUSTORY_HOOK_DISABLE=1 turns recording off (checked at every prompt).
# - ctrl+r opens `rr search` (fzf) with the current line as the query; the chosen command replaces the line,
#   it is not run. Esc leaves the line as it was.
# `rr init bash` fills the __RUSTORY_RR placeholder below with the absolute command that runs this rr; $RUSTORY_BIN overrides it.

_rustory_rr=(__RUSTORY_RR__)
[[ ${_rustory_rr[0]} == __RUSTORY_RR* ]] && _rustory_rr=(rr)

_rustory_void=()
declare -gA _rustory_vmap=()
_rustory_start_us=0
_rustory_start_s=0
_rustory_cwd=''
_rustory_last_hist=''
export RUSTORY_HOOK_ACTIVE=bash
export RUSTORY_SHELL_SESSION="bash-$$-${EPOCHSECONDS:-$SECONDS}"

# The rr command line to run: $RUSTORY_BIN when set, else the one `rr init` resolved.
_rustory_exec() {
  if [[ -n ${RUSTORY_BIN-} ]]; then
    "$RUSTORY_BIN" "$@"
  else
    "${_rustory_rr[@]}" "$@"
  fi
}

# In the background: the newest history line to `rr record` on stdin. Args: exit code, duration, cwd, [--ts T].
_rustory_send() {
  local line
  line=$(HISTTIMEFORMAT='' builtin history 1)
  # "  123  cmd" (a '*' follows the number when the line was edited): keep what follows the number.
  [[ $line =~ ^[[:space:]]*[0-9]+\*?\ \ (.*)$ ]] || return 0
  printf '%s' "${BASH_REMATCH[1]}" | _rustory_exec record --stdin "${@:4}" --cwd "$3" --exit-code "$1" \
    --duration-ms "$2" --shell bash
}

# Before each prompt: if a new history line was added since the last prompt, record it in the background.
# Runs first in PROMPT_COMMAND so that $? is the command's status, and returns that status for what follows.
_rustory_prompt() {
  local exit_code=$? hist=${HISTCMD-}
  local start_us=$_rustory_start_us start_s=$_rustory_start_s cwd=${_rustory_cwd:-$PWD}
  _rustory_start_us=0 _rustory_start_s=0 _rustory_cwd=''
  # First prompt after loading: remember where history stands, record nothing.
  if [[ -z $_rustory_last_hist ]]; then
    _rustory_last_hist=$hist
    return $exit_code
  fi
  [[ $hist == "$_rustory_last_hist" ]] && return $exit_code
  _rustory_last_hist=$hist
  [[ ${RUSTORY_HOOK_DISABLE-} == 1 ]] && return $exit_code
  local duration_ms=0 now_us=${EPOCHREALTIME//[!0-9]/} ts=()
  if (( start_us > 0 )) && [[ -n $now_us ]]; then
    duration_ms=$(( (now_us - start_us) / 1000 ))
    ts=(--ts "${start_us:0:${#start_us}-6}.${start_us:${#start_us}-6}")
  elif (( start_s > 0 )); then
    duration_ms=$(( (SECONDS - start_s + 1) * 1000 ))
  fi
  (( duration_ms < 0 )) && duration_ms=0
  # The subshell only starts the background job and exits: the prompt waits for one fork, nothing more.
  ( _rustory_send "$exit_code" "$duration_ms" "$cwd" "${ts[@]}" >/dev/null 2>&1 & )
  return $exit_code
}

# PS0 part: sets the start time (µs from EPOCHREALTIME, seconds as a fallback) and the directory, prints nothing:
# an indexed-array subscript is arithmetic (assignments happen), an associative one is a string (${x:=…} happens),
# and both arrays stay empty, so each reference expands to nothing.
# shellcheck disable=SC2016 # expanded later, by bash, each time PS0 is shown
_rustory_ps0='${_rustory_void[_rustory_start_s=SECONDS+1,_rustory_start_us=${EPOCHREALTIME//[!0-9]/}+0,0]-}${_rustory_vmap[${_rustory_cwd:=$PWD}]-}'
if [[ ${PS0-} != *_rustory_start_us* ]]; then
  PS0="${PS0-}${_rustory_ps0}"
fi

# Put _rustory_prompt first in PROMPT_COMMAND, whether it is an array (bash 5.1+) or a string.
if [[ $(declare -p PROMPT_COMMAND 2>/dev/null) == "declare -a"* ]]; then
  if [[ " ${PROMPT_COMMAND[*]} " != *" _rustory_prompt "* ]]; then
    PROMPT_COMMAND=(_rustory_prompt "${PROMPT_COMMAND[@]}")
  fi
elif [[ ${PROMPT_COMMAND-} != *_rustory_prompt* ]]; then
  # shellcheck disable=SC2128,SC2178 # this branch is the string form
  PROMPT_COMMAND="_rustory_prompt${PROMPT_COMMAND:+; $PROMPT_COMMAND}"
fi

# ctrl+r: search history with fzf; the chosen command goes into the line editor.
_rustory_search() {
  local result
  result=$(_rustory_exec search --query "$READLINE_LINE") || return 0
  [[ -n $result ]] || return 0
  READLINE_LINE=$result
  READLINE_POINT=0x7fffffff
}
if [[ $- == *i* ]]; then
  bind -m emacs-standard -x '"\C-r": _rustory_search' 2>/dev/null
  bind -m vi-insert -x '"\C-r": _rustory_search' 2>/dev/null
  bind -m vi-command -x '"\C-r": _rustory_search' 2>/dev/null
fi
