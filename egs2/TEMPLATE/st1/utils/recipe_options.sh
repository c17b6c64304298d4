#!/usr/bin/env bash
# A recipe's own options (run.sh), sourced after the recipe sets their defaults and lists their names
# in $recipe_options: "--name value" and "--name=value" set the shell variable "name"; every other
# argument stays, in order, in the array st_opts, for st.sh (whose own parser checks them). A recipe
# option without a value is an error (exit 2).
#   recipe_options="tgt_langs conf"; . utils/recipe_options.sh; ./st.sh ... "${st_opts[@]}"
# shellcheck disable=SC2154  # recipe_options: set by the recipe
st_opts=()
while [ $# -gt 0 ]; do
    name=${1%%=*}
    name=${name#--}
    if [[ "$1" != --* ]] || [[ " ${recipe_options} " != *" ${name} "* ]]; then
        st_opts+=("$1")
        shift
        continue
    fi
    if [[ "$1" == *=* ]]; then
        value=${1#*=}
        shift
    elif [ $# -ge 2 ]; then
        value=$2
        shift 2
    else
        echo "$0: option $1 needs a value" 1>&2
        exit 2
    fi
    printf -v "${name}" '%s' "${value}"
done
unset name value
