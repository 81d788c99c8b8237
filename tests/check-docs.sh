#!/bin/bash
# The generated man pages and shell completions (target lvsctl_docs, `lvsctl generate`), as
# installed: lvsctl(8) and lvsctl.conf(5) format without a warning; the bash completion really
# completes commands, options and option values in a plain bash; the zsh completion parses,
# offers render's formats and completes in an interactive zsh (tests/zsh-complete.zsh). Usage: check-docs.sh SHARE_DIR (the build tree's share/). Run by ctest
# (man_pages_and_completions).
set -uo pipefail
share=${1:?usage: check-docs.sh SHARE_DIR}
failed=0
ok() { echo "ok - $1"; }
not_ok() {
    echo "not ok - $1"
    failed=1
}

for page in "$share/man/man8/lvsctl.8" "$share/man/man5/lvsctl.conf.5"; do
    if [[ ! -s $page ]]; then
        not_ok "$page: missing or empty"
        continue
    fi
    warnings=$(groff -man -ww -z "$page" 2>&1)
    if [[ -z $warnings ]]; then
        ok "groff -man -ww: $page"
    else
        not_ok "groff -man -ww: $page: $warnings"
    fi
    # man-db's own check, as `man` formats it for a reader (preprocessors included).
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings -E UTF-8 "$page" 2>&1 >/dev/null)
    if [[ -z $warnings ]]; then
        ok "man -l --warnings: $page"
    else
        not_ok "man -l --warnings: $page: $warnings"
    fi
done

bash_completion="$share/bash-completion/completions/lvsctl"
# completes WORD... '=>' EXPECTED...: completing the last WORD offers every EXPECTED.
completes() {
    local words=() expected=() reply
    while [[ $# -gt 0 && $1 != "=>" ]]; do
        words+=("$1")
        shift
    done
    shift
    expected=("$@")
    # shellcheck disable=SC2016 # expanded by the inner bash
    reply=$(bash --norc --noprofile -c '
        source "$1" || exit 1
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMPREPLY=()
        _lvsctl || exit 1
        printf "%s\n" "${COMPREPLY[@]}"' completion "$bash_completion" "${words[@]}" 2>&1)
    local missing=()
    for word in "${expected[@]}"; do
        grep -qxF -- "$word" <<<"$reply" || missing+=("$word")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        ok "bash completes '${words[*]}' with ${expected[*]}"
    else
        not_ok "bash completes '${words[*]}': ${missing[*]} missing from: $(tr '\n' ' ' <<<"$reply")"
    fi
}
# offers_not WORD... '=>' UNEXPECTED: completing the last WORD does not offer UNEXPECTED.
offers_not() {
    local words=("${@:1:$#-2}") unexpected=${*: -1} reply
    # shellcheck disable=SC2016 # expanded by the inner bash
    reply=$(bash --norc --noprofile -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
        _lvsctl; printf "%s\n" "${COMPREPLY[@]}"' completion "$bash_completion" "${words[@]}")
    if grep -qxF -- "$unexpected" <<<"$reply"; then
        not_ok "bash completes '${words[*]}' with $unexpected"
    else
        ok "bash does not offer $unexpected for '${words[*]}'"
    fi
}

if [[ ! -s $bash_completion ]]; then
    not_ok "$bash_completion: missing or empty"
else
    completes lvsctl ren '=>' render
    completes lvsctl "" '=>' update plan render status server ip import agent monitor db
    offers_not lvsctl "" '=>' generate
    completes lvsctl render --format "" '=>' lvs.cf keepalived keepalived-vrrp ipvsadm json
    completes lvsctl render --format = "" '=>' lvs.cf keepalived ipvsadm
    completes lvsctl render --format = '=>' lvs.cf keepalived ipvsadm
    completes lvsctl render --format=ke '=>' --format=keepalived --format=keepalived-vrrp
    completes lvsctl render --cluster-id 7 --for '=>' --format
    completes lvsctl import -- '=>' --server --format --cluster-id --no-update --json
    completes lvsctl import --format "" '=>' lvscf keepalived ipvsadm
    completes lvsctl server a '=>' add
    completes lvsctl --json server set -- '=>' --weight --active --node-id
    completes lvsctl server set --active "" '=>' true false
    completes lvsctl agent apply --marks "" '=>' nft iptables
    completes lvsctl --db "dbname=x" ag '=>' agent
    offers_not lvsctl render --format "" '=>' --cluster-id
    if shellcheck -s bash "$bash_completion"; then
        ok "shellcheck: the bash completion"
    else
        not_ok "shellcheck: the bash completion"
    fi
fi

zsh_completion="$share/zsh/vendor-completions/_lvsctl"
if ! command -v zsh >/dev/null; then
    not_ok "zsh is not installed (tools/install-deps installs it)"
elif [[ ! -s $zsh_completion ]]; then
    not_ok "$zsh_completion: missing or empty"
else
    if zsh -n "$zsh_completion"; then
        ok "zsh -n: the zsh completion parses"
    else
        not_ok "zsh -n: the zsh completion does not parse"
    fi
    for expected in '#compdef lvsctl' ':(lvs.cf keepalived keepalived-vrrp ipvsadm json)' \
        '--server=[' "'update:" "'vrrp-notify:"; do
        if grep -qF -- "$expected" "$zsh_completion"; then
            ok "the zsh completion has $expected"
        else
            not_ok "the zsh completion lacks $expected"
        fi
    done
    # Loaded as zsh loads it: every function it calls for a command is defined.
    # shellcheck disable=SC2016 # expanded by zsh
    undefined=$(zsh -f -c '
        source <(sed "\$d" "$1")
        for f in ${(k)functions[(I)_lvsctl*]}; do
            for g in ${(f)"$(functions $f | grep -o "_lvsctl[a-z_]*" | sort -u)"}; do
                (( $+functions[$g] )) || print -r -- "$f calls $g"
            done
        done' zsh "$zsh_completion" 2>&1)
    if [[ -z $undefined ]]; then
        ok "zsh: every function the completion calls is defined"
    else
        not_ok "zsh: $undefined"
    fi
    # The real completion system in an interactive zsh on a pseudo-terminal: TAB completes.
    for case in 'lvsctl ren|render' 'lvsctl import --se|--server' \
        'lvsctl render --format=|keepalived-vrrp' 'lvsctl --json agent apply --marks |iptables'; do
        line=${case%%|*} expected=${case#*|}
        if timeout 30 zsh -f "$(dirname "$0")/zsh-complete.zsh" "$(dirname "$zsh_completion")" \
            "$line" "$expected"; then
            ok "zsh completes '$line' with $expected"
        else
            not_ok "zsh completes '$line': no $expected within 30 s"
        fi
    done
fi
exit $failed
