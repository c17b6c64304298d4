#!/usr/bin/env bash
# Kaldi-style option parsing, sourced by a script after it sets its defaults:
#   --name value  or  --name=value  sets the shell variable "name" (dashes in names become
#   underscores); the variable must already exist, so typos are errors. --help / -h prints
#   "$help_message" and exits 0. Parsing stops at the first argument that is not an option;
#   the remaining arguments stay in "$@".
# (Our own small version of Kaldi's utils/parse_options.sh, which is not installable here.)

while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h)
            if [ -z "${help_message:-}" ]; then echo "No help found." 1>&2; else printf "%s\n" "${help_message}"; fi
            exit 0 ;;
        --*=*)
            name=${1%%=*}; value=${1#*=}; shift ;;
        --*)
            [ $# -ge 2 ] || { echo "$0: option $1 needs a value" 1>&2; exit 1; }
            name=$1; value=$2; shift 2 ;;
        *) break ;;
    esac
    name=${name#--}; name=${name//-/_}
    if [[ ! "${name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || ! declare -p "${name}" >/dev/null 2>&1; then
        echo "$0: invalid option --${name} (see $0 --help)" 1>&2
        exit 1
    fi
    # Booleans accept only true/false, as in Kaldi.
    if [ "${!name}" = true ] || [ "${!name}" = false ]; then
        if [ "${value}" != true ] && [ "${value}" != false ]; then
            echo "$0: option --${name} expects true or false, got '${value}'" 1>&2
            exit 1
        fi
    fi
    printf -v "${name}" '%s' "${value}"
done
unset name value
true
