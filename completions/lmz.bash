# bash completion for lmz, unlmz and lmzcat.
_lmz() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
    -o|--output|--models-dir|--socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --model|--log-model) COMPREPLY=($(compgen -W "order2 small large same" -f -- "$cur")); return ;;
    --device) COMPREPLY=($(compgen -W "auto cpu cuda" -- "$cur")); return ;;
    -T|--threads|--block-size|--window-size|--log-window-size|--zstd-level|--range) return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "-z --compress -d --decompress --uncompress -t --test -l --list
      --json --range -c --stdout -o --output -k --keep --rm -f --force -r --recursive
      -q --quiet -v --verbose --progress --no-progress -1 -2 -3 -4 -5 -6 -7 -8 -9 -10 -11
      -12 -13 -14 -15 -16 -17 -18 -19 --fast --best -e --extreme -T --threads
      --single-thread --model --log-model --models-dir --device --block-size --window-size
      --log-window-size --zstd-level --no-neural --daemon --local --socket -h --help
      -V --version" -- "$cur"))
    return
  fi
  local word decompress=0
  [[ ${COMP_WORDS[0]##*/} == unlmz || ${COMP_WORDS[0]##*/} == lmzcat ]] && decompress=1
  for word in "${COMP_WORDS[@]}"; do
    case $word in -d|--decompress|--uncompress|-t|--test|-l|--list|info|--range) decompress=1 ;; -*d*) [[ $word != --* ]] && decompress=1 ;; esac
  done
  if ((decompress)); then
    COMPREPLY=($(compgen -f -X '!*.lmz' -- "$cur") $(compgen -d -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _lmz lmz unlmz lmzcat
