# rustory (rr) zsh integration. Load it with:  eval "$(rr init zsh)"   (or, with no start-up cost at all,
# `rr init zsh --write` once and the `source` line it prints in ~/.zshrc).
#
# - preexec/precmd (via add-zsh-hook, next to any hooks already there) record every command: the line as typed
#   (multi-line too), the directory it started in, its exit code and duration (EPOCHREALTIME). Repeats are recorded
#   whatever HIST_IGNORE_DUPS says (preexec sees every line).
# - A command is recorded when it starts (a pending record, exit status unknown) and completed when it ends, under
#   the same entry_id: one still running when its terminal closes is kept.
# - Recording runs in disowned background jobs: the prompt never waits for it.
# - RUSTORY_HOOK_DISABLE=1 turns recording off (checked at every command).
# - ctrl+r opens `rr search` (fzf) with the current line as the query; the chosen command replaces the line,
#   it is not run. Esc leaves the line as it was. Without fzf, ctrl+r is zsh's own search (and says once why).
# `rr init zsh` fills the __RUSTORY_RR placeholder below with the absolute command that runs this rr; $RUSTORY_BIN
# overrides it; a file sourced without it uses $_rustory_rr_static (set by `rr init zsh --write`), else `rr`.

zmodload zsh/datetime 2>/dev/null
autoload -Uz add-zsh-hook

typeset -ga _rustory_rr
_rustory_rr=(__RUSTORY_RR__)
if [[ ${_rustory_rr[1]} == __RUSTORY_RR* ]]; then
  if (( ${#_rustory_rr_static} )); then _rustory_rr=("${_rustory_rr_static[@]}"); else _rustory_rr=(rr); fi
fi

typeset -g _rustory_cmd='' _rustory_cwd='' _rustory_start='' _rustory_id='' _rustory_fzf_hint=''
export RUSTORY_HOOK_ACTIVE=zsh
export RUSTORY_SHELL_SESSION="zsh-$$-${EPOCHSECONDS:-0}-$RANDOM"

# The rr command line to run: $RUSTORY_BIN when set, else the one `rr init` resolved.
_rustory_exec() {
  if [[ -n ${RUSTORY_BIN-} ]]; then
    "$RUSTORY_BIN" "$@"
  else
    "${_rustory_rr[@]}" "$@"
  fi
}

# A UUID for the command about to run, from this shell's pid, the µs clock and $RANDOM (no process started).
_rustory_new_id() {
  # Microseconds from EPOCHREALTIME's seconds and its first six decimals (all of them would pass 64 bits).
  local now=${EPOCHREALTIME:-0.0}
  local frac=${now#*.}000000
  local -i us=$(( ${now%%.*} * 1000000 + 10#${frac[1,6]} )) r=$RANDOM r2=$RANDOM
  printf -v _rustory_id '%08x-%04x-4%03x-%x%03x-%012x' $(( $$ & 0xffffffff )) $(( r & 0xffff )) \
    $(( (us >> 48) & 0xfff )) $(( 8 + (r2 & 3) )) $(( (r2 >> 2) & 0xfff )) $(( us & 0xffffffffffff ))
}

# Before a command runs: remember it ($1 is the line as typed; $3 the expanded text if history is off), and record
# that it started.
_rustory_preexec() {
  _rustory_cmd=${1:-$3}
  _rustory_cwd=$PWD
  _rustory_start=${EPOCHREALTIME:-${EPOCHSECONDS:-none}}
  _rustory_new_id
  [[ ${RUSTORY_HOOK_DISABLE-} == 1 || $_rustory_start == none ]] && return 0
  # The directory goes in the environment, not the arguments: other users can read the process list.
  { print -rn -- "$_rustory_cmd" | RUSTORY_RECORD_CWD=$_rustory_cwd _rustory_exec record --start --stdin \
      --entry-id $_rustory_id --pid $$ --ts $_rustory_start --shell zsh >/dev/null 2>&1 } &!
}

# Before each prompt: hand the finished command to `rr record` in the background. Keeps $? for later hooks.
_rustory_precmd() {
  local -i exit_code=$?
  [[ -n $_rustory_start ]] || return $exit_code
  local cmd=$_rustory_cmd cwd=$_rustory_cwd start=$_rustory_start id=$_rustory_id
  _rustory_start='' _rustory_cmd=''
  [[ ${RUSTORY_HOOK_DISABLE-} == 1 ]] && return $exit_code
  local -i duration_ms=0
  local -a ts=()
  if [[ $start != none ]]; then
    (( duration_ms = (${EPOCHREALTIME:-$EPOCHSECONDS} - start) * 1000 ))
    (( duration_ms < 0 )) && duration_ms=0
    ts=(--ts $start)
  fi
  { print -rn -- "$cmd" | RUSTORY_RECORD_CWD=$cwd _rustory_exec record --stdin $ts --exit-code $exit_code \
      --duration-ms $duration_ms --shell zsh --entry-id $id --pid $$ >/dev/null 2>&1 } &!
  return $exit_code
}

add-zsh-hook preexec _rustory_preexec
add-zsh-hook precmd _rustory_precmd

# ctrl+r: search history with fzf; the chosen command goes into the line editor. Without fzf: zsh's own search.
_rustory_search_widget() {
  emulate -L zsh
  if (( ! $+commands[fzf] )); then
    if [[ -z $_rustory_fzf_hint ]]; then
      _rustory_fzf_hint=1
      zle -I
      print -u2 'rr: ctrl+r needs fzf for rr search (install it: apt install fzf, brew install fzf); using zsh'"'"'s own search meanwhile'
    fi
    zle history-incremental-search-backward
    return
  fi
  local result
  # The line goes in the environment, not the arguments: other users can read the process list.
  result=$(RUSTORY_SEARCH_QUERY=$BUFFER _rustory_exec search </dev/tty)
  local -i rc=$?
  if (( rc == 0 )) && [[ -n $result ]]; then
    BUFFER=$result
    CURSOR=${#BUFFER}
  fi
  zle reset-prompt
  return 0
}
zle -N _rustory_search_widget
bindkey -M emacs '^R' _rustory_search_widget
bindkey -M viins '^R' _rustory_search_widget
bindkey -M vicmd '^R' _rustory_search_widget
