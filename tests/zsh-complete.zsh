# zsh -f zsh-complete.zsh DIR LINE EXPECTED: in an interactive zsh (a pseudo-terminal, zpty) with
# DIR in $fpath and compinit run, type LINE and TAB; succeed once EXPECTED shows on the screen
# (the caller bounds the wait with timeout). For check-docs.sh: the zsh completion completes.
zmodload zsh/zpty || exit 2
local dir=$1 line=$2 expected=$3 out
zpty z zsh -f -i || exit 2
zpty -w z "PS1='> '; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-prompt ''; LISTMAX=1000; print READY\$((40+2))"
zpty -r -m z out '*READY42*' || exit 1
zpty -w -n z "$line"$'\t'
zpty -r -m z out "*${expected}*" || exit 1
zpty -d z
exit 0
