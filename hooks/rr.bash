# rustory (rr) bash integration. Load it with:  eval "$(rr init bash)"   (or, with no start-up cost at all,
# `rr init bash --write` once and the `source` line it prints in ~/.bashrc).
#
# - PROMPT_COMMAND records the command that just finished: its history line (multi-line too), the directory it
#   started in, its exit code and duration. Works when PROMPT_COMMAND is a string or an array (bash 5.1+), and
#   keeps what is already there. A history line is recorded once: pressing Enter on an empty line records nothing.
# - The start time and directory are taken in PS0 (expanded by bash after it reads a command, before running it),
#   through expansions that assign and print nothing; no DEBUG trap is taken from other tools.
# - A command is also recorded when it starts (PS0 starts one background job: a pending record, exit status unknown),
#   and completed at the next prompt under the same entry_id: one still running when its terminal closes is kept.
# - Repeats are recorded whatever HISTCONTROL says: ignoredups/ignoreboth are narrowed to ignorespace so bash adds the
#   repeated line, and the hook then removes that duplicate from the history list, as ignoredups would have.
#   (A line starting with a space stays unrecorded under ignorespace: that is how a user keeps a command out.)
# - Recording runs in a detached background subshell: the prompt never waits for it.
# - RUSTORY_HOOK_DISABLE=1 turns recording off (checked at every prompt).
# - ctrl+r opens `rr search` (fzf) with the current line as the query; the chosen command replaces the line,
#   it is not run. Esc leaves the line as it was. Without fzf, ctrl+r is bash's own reverse search (and says once
#   why).
# `rr init bash` fills the __RUSTORY_RR placeholder below with the absolute command that runs this rr; $RUSTORY_BIN
# overrides it; a file sourced without it uses $_rustory_rr_static (set by `rr init bash --write`), else `rr`.

_rustory_rr=(__RUSTORY_RR__)
if [[ ${_rustory_rr[0]} == __RUSTORY_RR* ]]; then
  if [[ -n ${_rustory_rr_static-} ]]; then _rustory_rr=("${_rustory_rr_static[@]}"); else _rustory_rr=(rr); fi
fi

_rustory_void=()
declare -gA _rustory_vmap=()
_rustory_start_us=0
_rustory_start_s=0
_rustory_cwd=''
_rustory_last_hist=''
_rustory_r=0
_rustory_h=0
_rustory_id=''
_rustory_fzf_hint=''
_rustory_ignoredups=''
export RUSTORY_HOOK_ACTIVE=bash
export RUSTORY_SHELL_SESSION="bash-$$-${EPOCHSECONDS:-$SECONDS}-$RANDOM"

# Repeats: bash must add every line, so ignoredups/ignoreboth become ignorespace (see the header).
if [[ :${HISTCONTROL-}: == *:ignoredups:* || :${HISTCONTROL-}: == *:ignoreboth:* ]]; then
  _rustory_ignoredups=1
  HISTCONTROL=:${HISTCONTROL}:
  HISTCONTROL=${HISTCONTROL//:ignoreboth:/:ignorespace:}
  HISTCONTROL=${HISTCONTROL//:ignoredups:/:}
  HISTCONTROL=${HISTCONTROL#:}
  HISTCONTROL=${HISTCONTROL%:}
fi

# The rr command line to run: $RUSTORY_BIN when set, else the one `rr init` resolved.
_rustory_exec() {
  if [[ -n ${RUSTORY_BIN-} ]]; then
    "$RUSTORY_BIN" "$@"
  else
    "${_rustory_rr[@]}" "$@"
  fi
}

# The entry_id of the command started at $1 (µs) with random $2: from this shell's pid, the clock and $RANDOM, the
# same in PS0's job (start) and at the prompt (end). Sets _rustory_id; no process started.
_rustory_id_of() {
  printf -v _rustory_id '%08x-%04x-4%03x-%x%03x-%012x' $(( $$ & 0xffffffff )) $(( $2 & 0xffff )) \
    $(( ($1 >> 48) & 0xfff )) $(( 8 + (($2 >> 3) & 3) )) $(( ($2 >> 5) & 0x3ff )) $(( $1 & 0xffffffffffff ))
}

# PS0's command substitution (a subshell): when bash added a history line for the command about to run, start its
# pending record in the background. Prints nothing.
_rustory_begin() {
  [[ ${RUSTORY_HOOK_DISABLE-} == 1 || -z $_rustory_last_hist || $_rustory_h == "$_rustory_last_hist" ]] && return 0
  (( _rustory_start_us > 0 )) || return 0
  local line
  line=$(HISTTIMEFORMAT='' builtin history 1)
  [[ $line =~ ^[[:space:]]*[0-9]+\*?\ \ (.*)$ ]] || return 0
  _rustory_id_of "$_rustory_start_us" "$_rustory_r"
  # The directory goes in the environment, not the arguments: other users can read the process list.
  { printf '%s' "${BASH_REMATCH[1]}" | RUSTORY_RECORD_CWD=$PWD _rustory_exec record --start --stdin --entry-id "$_rustory_id" \
      --pid $$ --ts "${_rustory_start_us:0:${#_rustory_start_us}-6}.${_rustory_start_us:${#_rustory_start_us}-6}" \
      --shell bash; } >/dev/null 2>&1 &
}

# In the background: the newest history line to `rr record` on stdin. Args: exit code, duration, cwd, [--ts T].
_rustory_send() {
  local line
  line=$(HISTTIMEFORMAT='' builtin history 1)
  # "  123  cmd" (a '*' follows the number when the line was edited): keep what follows the number.
  [[ $line =~ ^[[:space:]]*[0-9]+\*?\ \ (.*)$ ]] || return 0
  printf '%s' "${BASH_REMATCH[1]}" | RUSTORY_RECORD_CWD=$3 _rustory_exec record --stdin "${@:4}" --exit-code "$1" \
    --duration-ms "$2" --shell bash
}

# Before each prompt: if a new history line was added since the last prompt, record it in the background.
# Runs first in PROMPT_COMMAND so that $? is the command's status, and returns that status for what follows.
_rustory_prompt() {
  local exit_code=$? hist=${HISTCMD-}
  local start_us=$_rustory_start_us start_s=$_rustory_start_s cwd=${_rustory_cwd:-$PWD} r=$_rustory_r
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
    _rustory_id_of "$start_us" "$r"
    ts=(--ts "${start_us:0:${#start_us}-6}.${start_us:${#start_us}-6}" --entry-id "$_rustory_id" --pid $$)
  elif (( start_s > 0 )); then
    duration_ms=$(( (SECONDS - start_s + 1) * 1000 ))
  fi
  (( duration_ms < 0 )) && duration_ms=0
  # The subshell only starts the background job and exits: the prompt waits for one fork, nothing more.
  ( _rustory_send "$exit_code" "$duration_ms" "$cwd" "${ts[@]}" >/dev/null 2>&1 & )
  [[ -n $_rustory_ignoredups ]] && _rustory_drop_repeat
  return $exit_code
}

# With the user's ignoredups: the line just recorded repeats the one before it, so take it out of the history list
# (the background job above has its own copy). One command substitution, only for such users.
_rustory_drop_repeat() {
  local pair
  pair=$(HISTTIMEFORMAT='' builtin history 2)
  [[ $pair =~ ^[[:space:]]*[0-9]+\*?\ \ (.*)$'\n'[[:space:]]*([0-9]+)\*?\ \ (.*)$ ]] || return 0
  [[ ${BASH_REMATCH[1]} == "${BASH_REMATCH[3]}" ]] || return 0
  builtin history -d "${BASH_REMATCH[2]}" 2>/dev/null && _rustory_last_hist=$HISTCMD
}

# PS0 part: sets the start time (µs from EPOCHREALTIME, seconds as a fallback) and the directory, prints nothing:
# an indexed-array subscript is arithmetic (assignments happen), an associative one is a string (${x:=…} happens),
# and both arrays stay empty, so each reference expands to nothing.
# Then $(_rustory_begin) starts the pending record (one fork; it prints nothing).
# shellcheck disable=SC2016 # expanded later, by bash, each time PS0 is shown
_rustory_ps0='${_rustory_void[_rustory_start_s=SECONDS+1,_rustory_start_us=${EPOCHREALTIME//[!0-9]/}+0,_rustory_r=RANDOM,_rustory_h=HISTCMD,0]-}${_rustory_vmap[${_rustory_cwd:=$PWD}]-}$(_rustory_begin)'
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

# ctrl+r is a macro of two keys: \C-x\C-t0 (below) binds \C-x\C-t1 to rr search when fzf is there, else to bash's
# own reverse-search-history (saying once how to get fzf); readline then runs \C-x\C-t1.
_rustory_pick() {
  if type -P fzf >/dev/null; then
    bind -x '"\C-x\C-t1": _rustory_search'
  else
    bind '"\C-x\C-t1": reverse-search-history'
    if [[ -z $_rustory_fzf_hint ]]; then
      _rustory_fzf_hint=1
      printf '%s\n' "rr: ctrl+r needs fzf for rr search (install it: apt install fzf, brew install fzf); using bash's own search meanwhile" >&2
    fi
  fi
}

# ctrl+r: search history with fzf; the chosen command goes into the line editor.
_rustory_search() {
  local result
  # The line goes in the environment, not the arguments: other users can read the process list.
  result=$(RUSTORY_SEARCH_QUERY=$READLINE_LINE _rustory_exec search) || return 0
  [[ -n $result ]] || return 0
  READLINE_LINE=$result
  READLINE_POINT=0x7fffffff
}
if [[ $- == *i* ]]; then
  for _rustory_map in emacs-standard vi-insert vi-command; do
    bind -m "$_rustory_map" -x '"\C-x\C-t0": _rustory_pick' 2>/dev/null
    bind -m "$_rustory_map" '"\C-r": "\C-x\C-t0\C-x\C-t1"' 2>/dev/null
  done
  unset _rustory_map
fi
