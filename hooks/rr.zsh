# rustory (rr) zsh integration. Load it with:  eval "$(rr init zsh)"
#
# - preexec/precmd (via add-zsh-hook, next to any hooks already there) record every command: the line as typed
#   (multi-line too), the directory it started in, its exit code and duration (EPOCHREALTIME).
# - Recording runs in a disowned background job: the prompt never waits for it.
# - RUSTORY_HOOK_DISABLE=1 turns recording off (checked at every prompt).
# - ctrl+r opens `rr search` (fzf) with the current line as the query; the chosen command replaces the line,
#   it is not run. Esc leaves the line as it was.
# `rr init zsh` fills the __RUSTORY_RR placeholder below with the absolute command that runs this rr; $RUSTORY_BIN overrides it.

zmodload zsh/datetime 2>/dev/null
autoload -Uz add-zsh-hook

typeset -ga _rustory_rr
_rustory_rr=(__RUSTORY_RR__)
[[ ${_rustory_rr[1]} == __RUSTORY_RR* ]] && _rustory_rr=(rr)

typeset -g _rustory_cmd='' _rustory_cwd='' _rustory_start=''
export RUSTORY_HOOK_ACTIVE=zsh
export RUSTORY_SHELL_SESSION="zsh-$$-${EPOCHSECONDS:-0}"

# The rr command line to run: $RUSTORY_BIN when set, else the one `rr init` resolved.
_rustory_exec() {
  if [[ -n ${RUSTORY_BIN-} ]]; then
    "$RUSTORY_BIN" "$@"
  else
    "${_rustory_rr[@]}" "$@"
  fi
}

# Before a command runs: remember it ($1 is the line as typed; $3 the expanded text if history is off).
_rustory_preexec() {
  _rustory_cmd=${1:-$3}
  _rustory_cwd=$PWD
  _rustory_start=${EPOCHREALTIME:-${EPOCHSECONDS:-none}}
}

# Before each prompt: hand the finished command to `rr record` in the background. Keeps $? for later hooks.
_rustory_precmd() {
  local -i exit_code=$?
  [[ -n $_rustory_start ]] || return $exit_code
  local cmd=$_rustory_cmd cwd=$_rustory_cwd start=$_rustory_start
  _rustory_start='' _rustory_cmd=''
  [[ ${RUSTORY_HOOK_DISABLE-} == 1 ]] && return $exit_code
  local -i duration_ms=0
  local -a ts=()
  if [[ $start != none ]]; then
    (( duration_ms = (${EPOCHREALTIME:-$EPOCHSECONDS} - start) * 1000 ))
    (( duration_ms < 0 )) && duration_ms=0
    ts=(--ts $start)
  fi
  { print -rn -- "$cmd" | _rustory_exec record --stdin $ts --cwd "$cwd" --exit-code $exit_code \
      --duration-ms $duration_ms --shell zsh >/dev/null 2>&1 } &!
  return $exit_code
}

add-zsh-hook preexec _rustory_preexec
add-zsh-hook precmd _rustory_precmd

# ctrl+r: search history with fzf; the chosen command goes into the line editor.
_rustory_search_widget() {
  emulate -L zsh
  local result
  result=$(_rustory_exec search --query "$BUFFER" </dev/tty)
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
