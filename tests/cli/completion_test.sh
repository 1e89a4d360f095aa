#!/usr/bin/env bash
# Checks the bash completion script: it loads, completes subcommands and the flags each one
# really accepts (every flag it offers must be accepted by `deployguard SUBCOMMAND --help`).
set -euo pipefail
binary="$1"; script="$2"
source "$script"
complete -p deployguard >/dev/null
complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _deployguard; echo "${COMPREPLY[*]}"; }
[[ " $(complete_words deployguard "") " == *" can-deploy "* ]] || { echo "no can-deploy"; exit 1; }
[[ " $(complete_words deployguard "") " == *" stabilize stop "* ]] || { echo "no stabilize/stop"; exit 1; }
[[ "$(complete_words deployguard lease "")" == "acquire release" ]] || { echo "lease subcommands"; exit 1; }
check_flags() {  # every offered flag appears in the subcommand's --help
  local help="$1"; shift
  for flag in $*; do
    [[ "$help" == *"$flag"* ]] || { echo "completion offers $flag, help does not list it"; exit 1; }
  done
}
check_flags "$("$binary" can-deploy --help)" "$(complete_words deployguard can-deploy --)"
check_flags "$("$binary" status --help)" "$(complete_words deployguard status --)"
check_flags "$("$binary" freeze --help)" "$(complete_words deployguard freeze --)"
check_flags "$("$binary" lease acquire --help)" "$(complete_words deployguard lease acquire --)"
check_flags "$("$binary" report busy --help)" "$(complete_words deployguard report busy --)"
check_flags "$("$binary" stabilize --help)" "$(complete_words deployguard stabilize --)"
check_flags "$("$binary" stop --help)" "$(complete_words deployguard stop --)"
check_flags "$("$binary" serve --help)" "$(complete_words deployguard serve --)"
echo "completion ok"
