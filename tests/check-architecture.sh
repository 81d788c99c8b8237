#!/bin/bash
# The module rules of docs/architecture.md, checked on the sources: which folder may include
# which, and which folder alone includes each third-party library. Prints each breach; exits 1 if
# any. Run by ctest (architecture_rules).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
breaches=0
breach() {
    echo "$1"
    breaches=$((breaches + 1))
}
# includes FILE...: prints "FILE: HEADER" for every #include of the files.
includes() { grep -HE '^#include [<"]' "$@" | sed -E 's/:#include [<"]([^>"]*)[>"].*/: \1/'; }

# forbid WHAT PATTERN FILES...: no file may include a header matching PATTERN.
forbid() {
    local what=$1 pattern=$2
    shift 2
    [[ $# -gt 0 ]] || return 0
    while IFS= read -r line; do
        breach "$line: $what"
    done < <(includes "$@" | grep -E ": ($pattern)$")
}

core=(lvsctl/*.h lvsctl/*.cpp)
protocol=(lvsctl/protocol/*.h lvsctl/protocol/*.cpp)
lb=(lvsctl/lb/*.h lvsctl/lb/*.cpp)
manage=(lvsctl/manage/*.h lvsctl/manage/*.cpp)
checks=(checks/*.h checks/*.cpp)
api=(lvsctl/api/*.h lvsctl/api/*.cpp)
public=(include/lvsctl/*.h)

forbid "the core includes no role of its own" 'lvsctl/(protocol|lb|manage|cli)/.*|(ipvs|checks|db|propagation|templates)/.*' "${core[@]}"
forbid "protocol/ is documents only" 'lvsctl/(lb|manage|cli)/.*|(ipvs|checks|db|propagation|templates)/.*' "${protocol[@]}"
forbid "lb/ never includes the management side" 'lvsctl/(manage|cli)/.*|(ipvs|checks|db|propagation|templates)/.*' "${lb[@]}"
forbid "checks/ runs on the LB: never the management side" 'lvsctl/(manage|cli)/.*|(ipvs|db|propagation|templates)/.*' "${checks[@]}"
forbid "manage/ works over interfaces, not the libraries' modules" 'lvsctl/cli/.*|(ipvs|checks|db|propagation|templates)/.*' "${manage[@]}"
while IFS= read -r line; do
    [[ $line =~ :\ lvsctl/lb/(ipvs_plan|health|health_record)\.h$ ]] ||
        breach "$line: manage/ takes from lb/ only its pure predictions (ipvs_plan.h, health.h, health_record.h)"
done < <(includes "${manage[@]}" | grep -E ': lvsctl/lb/')

forbid "api/ is the engine under the CLI: never the CLI, nor the LB's kernel modules" 'lvsctl/lb/.*|(ipvs|checks)/.*' "${api[@]}"
while IFS= read -r line; do
    [[ $line =~ :\ lvsctl/cli/process\.h$ ]] ||
        breach "$line: api/ takes from lvsctl/cli only the process runner (process.h)"
done < <(includes "${api[@]}" | grep -E ': lvsctl/cli/')
# The public headers (docs/library.md): the standard library and each other, nothing else.
while IFS= read -r line; do
    [[ $line =~ :\ [a-z_]+$ || $line =~ :\ lvsctl/(lvsctl|export)\.h$ ]] ||
        breach "$line: a public header includes only the standard library and include/lvsctl/"
done < <(includes "${public[@]}")

# The Python module (python/) proves the facade is enough: the public header, pybind11 and the
# standard library, nothing internal.
while IFS= read -r line; do
    [[ $line =~ :\ [a-z_]+$ || $line =~ :\ lvsctl/lvsctl\.h$ || $line =~ :\ pybind11/[a-z0-9_]+\.h$ ]] ||
        breach "$line: python/ includes only lvsctl/lvsctl.h, pybind11 and the standard library"
done < <(includes python/*.cpp)

# Each third-party library in one module only.
mapfile -t sources < <(git ls-files '*.cpp' '*.h' | grep -vE '^(tests|bench)/')
only() { # WHAT PATTERN FOLDER: only files under FOLDER include headers matching PATTERN
    local what=$1 pattern=$2 folder=$3
    while IFS= read -r line; do
        [[ $line == "$folder"* ]] || breach "$line: $what is $folder's alone"
    done < <(includes "${sources[@]}" | grep -E ": ($pattern)$")
}
only "libnl" 'netlink/.*' ipvs/
only "Asio" 'asio.hpp|asio/.*' checks/
only "libpqxx" 'pqxx/.*' db/
only "libssh" 'libssh/.*' propagation/
only "ctemplate" 'ctemplate/.*' templates/
only "CLI11" 'CLI/.*' lvsctl/cli/

if ((breaches)); then
    echo "# $breaches breaches of docs/architecture.md's module rules"
    exit 1
fi
echo "ok - every module includes only what docs/architecture.md allows"
