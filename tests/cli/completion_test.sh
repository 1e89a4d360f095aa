#!/usr/bin/env bash
# Checks the bash completion script against the binary: it loads, offers every subcommand the
# binary has, and for every subcommand (and sub-subcommand) offers exactly the flags that
# `deployguard SUBCOMMAND --help` lists, and that --help works (exit 0) on each of them.
set -euo pipefail
binary="$1"; script="$2"
source "$script"
complete -p deployguard >/dev/null
complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _deployguard; echo "${COMPREPLY[*]}"; }
fail() { echo "FAIL: $*"; exit 1; }

# The names listed under "Subcommands:" in a --help text, one per line.
subcommands_of() { sed -n '/^Subcommands:/,$ s/^  \([a-z][a-z-]*\) .*/\1/p' <<<"$1"; }
# The long flags of the option column of a --help text (not flags mentioned in descriptions).
flags_of() { sed -n 's/^  \(-[^ ]*\).*/\1/p' <<<"$1" | grep -o -- '--[a-z][a-z-]*' | sort -u; }
sorted() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -u; }

top_help="$("$binary" --help)"
top_subs="$(subcommands_of "$top_help")"
[[ $(wc -l <<<"$top_subs") -ge 11 ]] || fail "cannot read the subcommands from --help: $top_help"
[[ "$(sorted "$(complete_words deployguard "")")" == "$(sorted "$top_subs --help")" ]] ||
  fail "top level: completion offers '$(complete_words deployguard "")', --help lists '$top_subs'"

checked=0
check_command() {  # words of a command, e.g. "lease acquire"
  local help
  help="$("$binary" "$@" --help)" || fail "deployguard $* --help exits $?"
  local subs; subs="$(subcommands_of "$help")"
  if [[ -n "$subs" ]]; then
    [[ "$(sorted "$(complete_words deployguard "$@" "")")" == "$(sorted "$subs")" ]] ||
      fail "deployguard $*: completion offers '$(complete_words deployguard "$@" "")', --help lists '$subs'"
    local sub
    for sub in $subs; do check_command "$@" "$sub"; done
    return
  fi
  local offered listed
  offered="$(sorted "$(complete_words deployguard "$@" --)")"
  listed="$(flags_of "$help")"
  [[ "$offered" == "$listed" ]] ||
    fail "deployguard $*: completion offers [$(echo $offered)], --help lists [$(echo $listed)]"
  checked=$((checked + 1))
}
for sub in $top_subs; do check_command "$sub"; done
# serve check-config version status can-deploy lease acquire/release freeze unfreeze
# report busy stabilize stop
[[ $checked -ge 12 ]] || fail "only $checked commands checked"

# Value completion where it matters.
[[ "$(complete_words deployguard serve --log-level "")" == "trace debug info warn error" ]] || fail "--log-level values"
echo "completion ok ($checked commands)"
