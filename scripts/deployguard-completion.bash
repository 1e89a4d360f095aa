# bash completion for deployguard (installed as share/bash-completion/completions/deployguard).
_deployguard() {
  local cur prev words cword
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  local commands="serve check-config version status can-deploy lease freeze unfreeze windows override report stabilize stop"
  local common="--server --token-file --help"
  local sub="${COMP_WORDS[1]}"

  case "$prev" in
    --config|-c|--token-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --log-level) COMPREPLY=($(compgen -W "trace debug info warn error" -- "$cur")); return ;;
  esac

  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$commands --help" -- "$cur"))
    return
  fi
  case "$sub" in
    check-config)
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "--help" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi ;;
    version) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
    serve) COMPREPLY=($(compgen -W "--config --log-level --ready-fd --move-corrupt-state --help" -- "$cur")) ;;
    status) COMPREPLY=($(compgen -W "--env --json --watch $common" -- "$cur")) ;;
    can-deploy) COMPREPLY=($(compgen -W "--env --wait --run-id --run-attempt $common" -- "$cur")) ;;
    freeze) COMPREPLY=($(compgen -W "--env --reason --by --until $common" -- "$cur")) ;;
    unfreeze) COMPREPLY=($(compgen -W "--env $common" -- "$cur")) ;;
    windows) COMPREPLY=($(compgen -W "--env --days --json $common" -- "$cur")) ;;
    override) COMPREPLY=($(compgen -W "--env --reason --skip --by --ttl $common" -- "$cur")) ;;
    stabilize) COMPREPLY=($(compgen -W "--env --revision --yes $common" -- "$cur")) ;;
    stop) COMPREPLY=($(compgen -W "--env --reason --by $common" -- "$cur")) ;;
    lease)
      if [ "$COMP_CWORD" -eq 2 ]; then
        COMPREPLY=($(compgen -W "acquire release" -- "$cur"))
      elif [ "${COMP_WORDS[2]}" = acquire ]; then
        COMPREPLY=($(compgen -W "--env --holder --ttl --run-id --run-attempt --wait $common" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "--env --lease $common" -- "$cur"))
      fi ;;
    report)
      if [ "$COMP_CWORD" -eq 2 ]; then
        COMPREPLY=($(compgen -W "busy" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "--env --detail --run-id --run-attempt $common" -- "$cur"))
      fi ;;
  esac
}
complete -F _deployguard deployguard
