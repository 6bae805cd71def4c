# rustory (rr) fish integration. Load it with:  rr init fish | source   (or, with no start-up cost at all,
# `rr init fish --write` once and the `source` line it prints in ~/.config/fish/config.fish).
#
# - fish_preexec / fish_postexec record every command: the line as typed (multi-line too), the directory it started
#   in, its exit status and duration ($CMD_DURATION). Repeats are recorded (the events see every line).
# - A command is recorded when it starts (a pending record, exit status unknown) and completed when it ends, under
#   the same entry_id: one still running when its terminal closes is kept.
# - Recording runs in disowned background jobs: the prompt never waits for it.
# - RUSTORY_HOOK_DISABLE=1 turns recording off (checked at every command).
# - ctrl+r opens `rr search` (fzf) with the current line as the query; the chosen command replaces the line,
#   it is not run. Esc leaves the line as it was. Without fzf, ctrl+r is fish's own history search (and says once
#   why).
# `rr init fish` fills the __RUSTORY_RR placeholder below with the absolute command that runs this rr; $RUSTORY_BIN
# overrides it; a file sourced without it uses $_rustory_rr_static (set by `rr init fish --write`), else `rr`.

set -g _rustory_rr __RUSTORY_RR__
if string match -q '__RUSTORY_RR*' -- $_rustory_rr[1]
    if set -q _rustory_rr_static[1]
        set _rustory_rr $_rustory_rr_static
    else
        set _rustory_rr rr
    end
end

set -g _rustory_id ''
set -g _rustory_cwd ''
set -gx RUSTORY_HOOK_ACTIVE fish
set -gx RUSTORY_SHELL_SESSION fish-$fish_pid-(random 0 32767)-(random 0 32767)

# The rr command line to run: $RUSTORY_BIN when set, else the one `rr init` resolved.
function _rustory_cmdline
    if set -q RUSTORY_BIN; and test -n "$RUSTORY_BIN"
        echo $RUSTORY_BIN
    else
        string join \n -- $_rustory_rr
    end
end

function _rustory_disabled
    set -q RUSTORY_HOOK_DISABLE; and test "$RUSTORY_HOOK_DISABLE" = 1
end

# Before a command runs: a UUID for it (this shell's pid and random numbers; builtins only), and its pending record.
function _rustory_preexec --on-event fish_preexec
    set -g _rustory_cwd $PWD
    set -g _rustory_id (printf '%08x-%04x-4%03x-%x%03x-%04x%04x%04x' $fish_pid (random 0 65535) (random 0 4095) \
        (random 8 11) (random 0 4095) (random 0 65535) (random 0 65535) (random 0 65535))
    _rustory_disabled; and return
    set -l rr (_rustory_cmdline)
    # The directory goes in the environment, not the arguments: other users can read the process list.
    set -lx RUSTORY_RECORD_CWD $PWD
    printf '%s' "$argv" | $rr record --start --stdin --entry-id $_rustory_id --pid $fish_pid --shell fish >/dev/null 2>&1 &
    disown 2>/dev/null
end

# After it ends: the completed entry, same entry_id. $status is the command's; fish keeps it for the prompt.
function _rustory_postexec --on-event fish_postexec
    set -l exit_code $status
    test -n "$_rustory_id"; or return
    set -l id $_rustory_id
    set -g _rustory_id ''
    _rustory_disabled; and return
    set -l duration (math "max(0, $CMD_DURATION)" 2>/dev/null; or echo 0)
    set -l rr (_rustory_cmdline)
    set -lx RUSTORY_RECORD_CWD $_rustory_cwd
    printf '%s' "$argv" | $rr record --stdin --ended-now --exit-code $exit_code \
        --duration-ms $duration --shell fish --entry-id $id --pid $fish_pid >/dev/null 2>&1 &
    disown 2>/dev/null
end

# ctrl+r: search history with fzf; the chosen command goes into the line editor. Without fzf: fish's own search.
function _rustory_search
    if not type -q fzf
        if not set -q _rustory_fzf_hint
            set -g _rustory_fzf_hint 1
            echo >&2
            echo "rr: ctrl+r needs fzf for rr search (install it: apt install fzf, brew install fzf); using fish's own search meanwhile" >&2
        end
        commandline -f history-pager
        return
    end
    set -l rr (_rustory_cmdline)
    # The line goes in the environment, not the arguments: other users can read the process list.
    set -lx RUSTORY_SEARCH_QUERY (commandline | string collect)
    set -l result ($rr search </dev/tty | string collect)
    if test -n "$result"
        commandline -r -- $result
    end
    commandline -f repaint
end

bind \cr _rustory_search
if bind -M insert >/dev/null 2>&1
    bind -M insert \cr _rustory_search
end
