#!/usr/bin/env bash
# The shared ctcot speech-translation pipeline. Recipes (egs2/<corpus>/st1) link to it and call it
# from run.sh; it runs from the recipe directory. See --help.
# Its options are handed to ctcot.bin.recipe by name, and what it derives from them is set by eval:
# shellcheck disable=SC2034,SC2154

set -euo pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
SECONDS=0
cmdline="$0 $*"

# General
stage=1              # First stage to run.
stop_stage=12        # Last stage to run.
nj=4                 # Parallel jobs for feature extraction.
inference_nj=4       # Parallel jobs for decoding.
ngpu=0               # GPUs per training job (0: CPU). More than 1 runs ESPnet's DDP on this node.
python=python        # Python to use (path.sh puts tools/venv first).
dumpdir=dump         # Features and filtered data.
expdir=exp           # Experiments.
conf_dir=conf        # Where train_mt.yaml, pretrain_<type>.yaml, train_st.yaml, decode_st.yaml are.
print_sets=false     # Only print the lines train_set=, valid_set=, test_sets= and expdir= (ablation.sh asks run.sh), and exit.

# Data
local_data_opts=""   # Options of local/data.sh.
train_set=train      # Training set (a directory of data/).
valid_set=dev        # Validation set.
test_sets="test"     # Sets to decode, space-separated.
score_groups=""      # A '<utt-id> <group>' file of each test set's data dir (e.g. utt2engine): BLEU and the cascade's CTC error also per group.
src_lang=en          # Source language.
tgt_lang=de          # Target language; mul: one-to-many, every target begins with a <2xx> language tag.
src_case=lc.rm       # Case of the source transcripts (text.<src_case>.<src_lang>).
tgt_case=tc          # Case of the target translations (text.<tgt_case>.<tgt_lang>).
speed_perturb_factors=""  # Stage 2, e.g. "0.9 1.0 1.1"; empty: no speed perturbation.
num_mel_bins=80           # Stage 3: mel bins of the log-mel fbank features (the paper: 80).
min_wav_duration=0.1      # Stage 4: shorter training/validation utterances are dropped (seconds).
max_wav_duration=30       # Stage 4: longer ones too.

# Tokens
src_token_type=bpe   # Source units: bpe (SentencePiece) or phn (espeak-ng phonemes).
src_nbpe=1000        # Source SentencePiece size.
tgt_nbpe=1000        # Target SentencePiece size.
bpemode=unigram      # SentencePiece model type.
g2p_voice=""         # espeak-ng voice for phonemes; empty: the source language.
tokenizers_from=""   # Another recipe directory whose stage-5 tokenizers (data/token_list/) to copy instead of training them: for its --mt_model / --pretrain_model.

# MT pre-training (stage 6)
mt_config=""         # Default: ${conf_dir}/train_mt.yaml.
mt_args=""           # Extra arguments of espnet2.bin.mt_train.
mt_tag=""            # Default: the config's name.
mt_model=""          # An MT model trained elsewhere (e.g. ../../<corpus>/st1/exp/mt_train_mt/valid.acc.ave.pth): stage 6 does not train one.
mt_model_config=""   # Its config.yaml. Default: config.yaml beside --mt_model.

# Speech pre-training (stage 7)
pretrain=ctc_ot      # none, ce, ctc, ctc_ce, ctc_ot, ctc_ot_frozen (MT text encoder) or ctc_compress_ot (stage 7).
pretrain_config=""   # Default: ${conf_dir}/pretrain_${pretrain}.yaml (ctc_ot_frozen: pretrain_ctc_ot.yaml).
pretrain_args=""     # Extra arguments of the training program.
pretrain_tag=""      # Default: ${pretrain}.
pretrain_model=""    # A --pretrain model trained elsewhere (e.g. ../../<corpus>/st1/exp/pretrain_ctc_ot/valid.loss.ave.pth): stage 7 does not train one.
pretrain_model_config=""  # Its config.yaml. Default: config.yaml beside --pretrain_model.

# ST training (stage 8)
st_config=""         # Default: ${conf_dir}/train_st.yaml; with --st_multitask true, ${conf_dir}/train_st_multitask.yaml.
st_args=""           # Extra arguments of the ST training (espnet2.bin.st_train; multi-task: ctcot.bin.st_train).
st_tag=""            # Default: ${pretrain}, plus _mtdec with --st_init_decoder_from_mt true, plus _multitask.
st_init_decoder_from_mt=true  # Initialise the ST decoder from the MT model's decoder.
st_multitask=false   # Multi-task ST: also CTC on the source transcript (from the pre-training's CTC) and MT through the ST decoder from a text encoder.
st_init_text_encoder_from=mt  # Multi-task ST's text encoder: mt (the MT model's encoder) or pretrain (CTC+OT's text encoder).

# Decoding and scoring (stages 9-11)
inference_config=""  # Default: ${conf_dir}/decode_st.yaml.
inference_args=""    # Extra arguments of ctcot.bin.st_inference (ESPnet's st_inference options).
inference_model=valid.acc.ave.pth  # Checkpoint of the ST experiment to decode with.
inference_batch_bins=20000  # Stage 9: decode batches of at most this many padded feature frames (ctcot's batched beam search, ESPnet's results); 0: ESPnet's decoding, one utterance at a time.
gpu_inference=false  # Decode on the GPU (every job uses the first visible one) instead of CPUs.

# Modality-gap analysis (stage 12)
gap_args=""          # Extra arguments of ctcot.bin.modality_gap, e.g. "--num_plans 8 --max_utts 500 --curve_zero_shot_utts 100".
gap_curves=false     # Also the gap curves: the figures (and a zero-shot BLEU) of every pre-training epoch's model (minutes; ablation.sh turns them on).

# Every option's name, from the block above: for --help and for ctcot.bin.recipe.
option_names=$(sed -n '/^# General$/,/^# Every option/p' "${BASH_SOURCE[0]}" | grep -oE '^[a-z0-9_]+=' | tr -d =)
help_message=$(cat << EOF
Usage: $0 [options]   (run from a recipe directory, egs2/<corpus>/st1)

Stages:
  1: data preparation (local/data.sh) and validation of data/<set>
  2: speed perturbation of the training set (--speed_perturb_factors)
  3: log-mel fbank (--num_mel_bins) into ${dumpdir}/fbank, with global CMVN statistics
  4: filtering of too short/long/empty utterances (training and validation sets only); NaN or infinite
     features are an error naming the utterances
  5: tokenizers: SentencePiece (or espeak-ng phonemes) for the source, SentencePiece for the target
  6: MT pre-training (ESPnet MT task), if stage 7 or 8 uses it, and its BLEU on the test sets'
     gold source transcripts (beam search with the ST decoding config: the cascade's upper bound);
     nothing with --mt_model (an MT model from elsewhere)
  7: speech pre-training: --pretrain none|ce|ctc|ctc_ce|ctc_ot|ctc_ot_frozen|ctc_compress_ot (nothing with
     --pretrain_model)
  8: ST training (ESPnet ST task; multi-task with --st_multitask true), initialised from stages 6 and 7
     (ctc_compress_ot: its whole encoder stack, MT encoder included, in <pretrain experiment>/<ST config>)
  9: decoding of the test sets (ESPnet's beam search, in utterance batches; averaged checkpoint)
  10: scoring with sacreBLEU (BLEU, chrF, TER) into <st experiment>/RESULTS.md
  11: packing of the ST model (ESPnet's packer)
  12: modality gap of the pre-trained speech encoder: its zero-shot ST (with the MT decoder, no ST
      training; decoded and scored in <pretrain experiment>/zero_shot), for CTC pre-trainings the cascade
      (greedy CTC transcripts and their token error rate, translated by the MT model as in stage 6, scored
      in <pretrain experiment>/cascade), and its states vs the MT
      encoder's on the validation set (gap.json, per_utt.tsv, plots, and with --gap_curves true the curves
      of every epoch's model, in <pretrain experiment>/modality_gap_<valid set>; CTC+OT also vs its own text encoder,
      in modality_gap_<valid set>_own_text)
A stage skips work it has done before with the same inputs (a .done file in its output) and
otherwise redoes or resumes it; training stages resume from the last epoch.

Options (default in brackets):
$(sed -n '/^# General$/,/^# Every option/p' "${BASH_SOURCE[0]}" | grep -E '^[a-z0-9_]+=' \
    | sed -E 's/^([a-z0-9_]+)=("[^"]*"|[^ ]*) *(# )?(.*)$/  --\1 [\2] \4/')
EOF
)

last_stage=${stop_stage}
. "$(dirname "${BASH_SOURCE[0]}")/utils/parse_options.sh"  # --help works from anywhere
if [ $# -ne 0 ]; then
    log "Error: unexpected arguments: $* (see $0 --help)"
    exit 2
fi
if [ ! -f path.sh ] || [ ! -f local/data.sh ]; then
    log "Error: run st.sh from its recipe directory (cd egs2/<corpus>/st1; ./run.sh): $(pwd) has no path.sh and local/data.sh"
    exit 2
fi
. ./path.sh
for option in stage stop_stage; do
    if ! [[ "${!option}" =~ ^[0-9]+$ ]] || [ "${!option}" -lt 1 ] || [ "${!option}" -gt "${last_stage}" ]; then
        log "Error: --${option} ${!option}: expected a stage number from 1 to ${last_stage} (see $0 --help)"
        exit 2
    fi
done
if [ "${stage}" -gt "${stop_stage}" ]; then
    log "Error: --stage ${stage} comes after --stop_stage ${stop_stage}: nothing to run (stages 1 to ${last_stage})"
    exit 2
fi

# Everything derived from the options, checked before anything runs (ctcot/recipe.py): the configs
# (defaults in --conf_dir) and <name>_config_digest, what each means, for the stages' signatures (a
# comment or the order of keys retrains nothing); the names of the data, token lists and experiments;
# need_mt (stage 6 trains MT); what stage 7 runs (pretrain_program, pretrain_token_args,
# pretrain_init_*) and what stage 8 loads (st_init_*, st_same_tokens), for the pre-training chosen.
recipe_args=()
for option in ${option_names}; do recipe_args+=(--set "${option}=${!option}"); done
if ! settings=$(${python} -m ctcot.bin.recipe "${recipe_args[@]}"); then
    exit 2
fi
eval "${settings}"
if "${print_sets}"; then
    printf '%s=%s\n' train_set "${train_set}" valid_set "${valid_set}" test_sets "${test_sets}" expdir "${expdir}"
    exit 0
fi

stage5_marker=.done_tokens  # stage 5 writes into the directories of other stages: its own marker

# --- helpers ------------------------------------------------------------------------------------
# A stage's output directory holds a marker file (.done, unless named) with the signature of its
# inputs (options and config contents); the stage is skipped while the signature matches.
runs() { [ "${stage}" -le "${2:-$1}" ] && [ "${stop_stage}" -ge "$1" ]; }  # runs <stage> [<last>]: any of them runs
signature() { printf '%s\n' "$@" | md5sum | cut -d' ' -f1; }
is_done() { [ -f "$1/${3:-.done}" ] && [ "$(cat "$1/${3:-.done}")" = "$2" ]; }  # is_done <dir> <sig> [<marker>]
mark_done() { mkdir -p "$1"; echo "$2" > "$1/${3:-.done}"; }                     # mark_done <dir> <sig> [<marker>]
# mt_signature, pretrain_signature: what identifies the model that stage 6 or 7 made (its .done
# file), or the model from elsewhere (its files' paths, sizes and modification times).
model_signature() { stat -c '%n %s %Y' "$@" 2> /dev/null || true; }
mt_signature() {
    if "${external_mt}"; then model_signature "${mt_model}" "${mt_model_config}"; else cat "${mt_exp}/.done" 2> /dev/null || true; fi
}
pretrain_signature() {
    if "${external_pretrain}"; then model_signature "${pretrain_model}" "${pretrain_model_config}"
    else cat "${pretrain_exp}/.done" 2> /dev/null || true; fi
}
# require_model <model> <config> <stage> <option>: a model stage 8 or 12 needs, made by <stage> or
# given by <option>.
require_model() {
    local file
    for file in "$1" "$2"; do
        [ -f "${file}" ] || { log "Error: ${file} is missing: run stage $3 first, or give a model with $4 (and its config with $4_config)"; exit 1; }
    done
}
# model_config <config> <from elsewhere: true|false> <copy>: the config to build a model from. One
# from elsewhere names files relative to its own recipe (feature statistics, ...): a copy of it with
# those paths made absolute.
model_config() {
    if "$2"; then ${python} -m ctcot.bin.localize_config "$1" "$3" 1>&2 && echo "$3"; else echo "$1"; fi
}
log_init() {  # log_init <MODEL:SOURCE:TARGET>...: what a training starts from (ESPnet's --init_param)
    local item model source target
    for item in "$@"; do
        IFS=: read -r model source target <<< "${item}"
        log "  ${target} <- the ${source} of ${model}"
    done
}
require_config() {  # require_config <file> <option>
    [ -f "$1" ] || { log "Error: config $1 does not exist (set $2 or add it to ${conf_dir})"; exit 1; }
}

# take_lock <dir> <name>: two st.sh must not write the same outputs at once. Stages 1-5 take the
# lock "data" in data/.locks (they write data/, dump/, data/token_list/), the others the lock of the
# experiment they write, in ${expdir}/.locks (the ablation runs several st.sh in one recipe, each on
# its own experiments). The lock is held until st.sh and its children (a training, a decoding) end,
# even if st.sh itself is killed.
take_lock() {
    local file=$1/$2.lock fd
    if ! command -v flock > /dev/null; then return; fi  # (e.g. macOS): no guard
    if ! { mkdir -p "$1" && exec {fd}>> "${file}"; } 2> /dev/null; then
        log "Error: cannot write the lock file ${file}: $( { mkdir -p "$1" && : >> "${file}"; } 2>&1 | sed 's/.*: //' | head -n 1)"
        log "  the stages that write $2 need $1 to be writable"
        exit 1
    fi
    if ! flock -n "${fd}"; then
        log "Error: another st.sh is writing $2 in this recipe: $(cat "${file}")"
        log "  wait for it to end (or stop it); the lock is ${file}"
        exit 1
    fi
    echo "process $$, since $(date '+%Y-%m-%dT%H:%M:%S'): ${cmdline}" > "${file}"
}

# start_exp <dir> <signature> <training command...>: an experiment begun with the same inputs is
# resumed. One begun with other inputs is moved aside (not deleted) and started afresh, but only
# once a dry run of the command (ESPnet's --dry_run: the configs read, every key checked, the model
# and optimizer built) has shown that the new inputs work.
start_exp() {
    local dir=$1 sig=$2 old check
    shift 2
    if [ -f "${dir}/.signature" ] && [ "$(cat "${dir}/.signature")" != "${sig}" ]; then
        log "  ${dir} was begun with other inputs (config, arguments or initialisation): checking the new ones"
        check=${dir}.check
        rm -rf "${check}"
        mkdir -p "${check}"
        if ! "$@" --output_dir "${check}" --dry_run true --ngpu 0 --multiprocessing_distributed false \
                > "${check}/dry_run.log" 2>&1; then
            grep -v '^\[nltk_data\]' "${check}/dry_run.log" | tail -n 15 | sed 's/^/    /' 1>&2
            log "Error: the new inputs of ${dir} do not work (above; log: ${check}/dry_run.log): ${dir} is left as it was"
            exit 1
        fi
        rm -rf "${check}"
        old=${dir}.old.$(date +%Y%m%d-%H%M%S)
        log "  they work: ${dir} moved to ${old}"
        mv "${dir}" "${old}"
    fi
    mkdir -p "${dir}"
    echo "${sig}" > "${dir}/.signature"
}

# train_exp <dir> <signature> <training command...>: start_exp, then the training, logged to
# <dir>/train.log. It resumes from its last complete epoch: checkpoints that do not load (e.g. cut
# short by a full disk) are set aside first. A failed training is checked for a full disk.
train_exp() {
    local dir=$1 sig=$2
    shift 2
    start_exp "${dir}" "${sig}" "$@"
    ${python} -m ctcot.bin.check_checkpoints "${dir}"
    if ! run_logged "${dir}/train.log" "$@"; then
        ${python} -m ctcot.bin.check_checkpoints "${dir}" --after_failure || true
        exit 1
    fi
    mark_done "${dir}" "${sig}"
}

# run_logged <log> <command...>: run with all output in <log>, showing the lines that match
# $show (ESPnet's per-epoch summaries, errors; not nltk's failed downloads at import); on failure,
# show the log's tail and return 1.
show="epoch results|Error|error"
run_logged() {
    local logfile=$1; shift
    mkdir -p "$(dirname "${logfile}")"
    echo "# $*" >> "${logfile}"
    echo "# Started at $(date)" >> "${logfile}"
    if "$@" 2>&1 | tee -a "${logfile}" \
            | { grep --line-buffered -E "${show}" | grep --line-buffered -v '^\[nltk_data\]' \
                | sed -u -E -e 's/.*INFO: ([0-9]+epoch) results: .*\[valid\] ([^[]*).*/    \1 valid: \2/' \
                      -e 's/[a-z_]+=(nan|0\.000e\+00), //g' -e 's/, time=.*//' || true; }; then
        echo "# Ended at $(date)" >> "${logfile}"
    else
        log "Error: this command failed: $*"
        tail -n 25 "${logfile}" | sed 's/^/    /' 1>&2
        log "Error: the full log is ${logfile}"
        return 1
    fi
}

stage_done() { log "Stage $1 done in $(( SECONDS - stage_start ))s"; }
require() {  # require <file> <what made it>
    [ -e "$1" ] || { log "Error: $1 is missing: run $2 first"; exit 1; }
}

# disk_full <log> <dir>: if <log> says the disk is full, say so, with the file and the space left.
disk_full() {
    local line
    line=$(grep -m 1 -E 'No space left on device|Disk quota exceeded' "$1" 2> /dev/null) || return 0
    log "Error: the disk of $2 is full ($(df -Ph "$2" 2> /dev/null | awk 'NR == 2 {print $4}') free): ${line##*Error: }"
    log "  free space and run this stage again; finished outputs are kept"
}

# decode_jobs <dir> <key source> <program and arguments...>: --inference_nj jobs of the program
# (ESPnet's --key_file and --output_dir added), each on a contiguous part of the keys of
# <key source>; their 1-best hypotheses are joined into <dir>/text.
decode_jobs() {
    local dir=$1 key_source=$2 keys n i rc why job_log failed=0 pids=() names=()
    shift 2
    rm -rf "${dir}/logdir"
    mkdir -p "${dir}/logdir"
    ${python} -m ctcot.bin.split_keys "${key_source}" "${dir}/logdir" --nj "${inference_nj}"
    for keys in "${dir}"/logdir/keys.*.scp; do
        n=$(basename "${keys}" .scp); n=${n#keys.}
        # One thread per job: the jobs are the parallelism.
        OMP_NUM_THREADS=1 "$@" --key_file "${keys}" --output_dir "${dir}/logdir/output.${n}" \
            > "${dir}/logdir/inference.${n}.log" 2>&1 &
        pids+=($!)
        names+=("${n}")
    done
    for i in "${!pids[@]}"; do
        rc=0
        wait "${pids[i]}" || rc=$?
        [ "${rc}" -eq 0 ] && continue
        failed=$((failed + 1))
        job_log=${dir}/logdir/inference.${names[i]}.log
        why="exit status ${rc}"
        if [ "${rc}" -gt 128 ]; then
            why="killed by signal $(kill -l $((rc - 128)) 2> /dev/null || echo $((rc - 128)))"
            if [ "${rc}" -eq 137 ]; then why+=": out of memory, or killed by hand"; fi
        fi
        log "Error: decoding job ${names[i]} of ${#pids[@]} failed (${why}); its log, ${job_log}, ends with:"
        tail -n 15 "${job_log}" | sed 's/^/    /' 1>&2
        disk_full "${job_log}" "${dir}"
    done
    if [ "${failed}" -gt 0 ]; then
        log "Error: ${failed} of ${#pids[@]} decoding job(s) failed (above)"
        exit 1
    fi
    cat "${dir}"/logdir/output.*/1best_recog/text | sort -k1,1 > "${dir}/text"
}

# decode_st <dir> <test set> <ST config> <ST model>: ESPnet's ST beam search (--inference_config,
# --inference_args), batched by --inference_batch_bins (ctcot.bin.st_inference), on the test set's
# features, in --inference_nj jobs, into <dir>/text. Multilingual models get the set's
# target-language tag forced as the first token.
decode_st() {
    local dir=$1 dset=$2 tag options=(--batch_bins "${inference_batch_bins}")
    if [ -n "${lang_tag_opt}" ]; then
        tag=$(awk 'NR == 1 {print $2}' "${data_feats}/${dset}/${tgt_text}")
        options+=(--tgt_lang_tag "${tag}")
        log "  ${dset}: hypotheses start with ${tag}"
    fi
    # shellcheck disable=SC2086
    decode_jobs "${dir}" "${data_feats}/${dset}/feats.scp" \
        ${python} -m ctcot.bin.st_inference "${options[@]}" --ngpu "${inference_ngpu}" --batch_size 1 --config "${inference_config}" \
        --data_path_and_name_and_type "${data_feats}/${dset}/feats.scp,speech,kaldi_ark" \
        --st_train_config "$3" --st_model_file "$4" ${inference_args}
}

# decode_mt <dir> <source text> <MT config>: the MT model's beam search (ESPnet's mt_inference, the ST
# decoding config) on a file of source transcripts (gold in stage 6, CTC's in stage 12's cascade), in
# --inference_nj jobs, into <dir>/text. ESPnet refuses a line with only an id: such an utterance (an
# empty CTC transcript) is not decoded, and its translation is empty.
decode_mt() {
    local dir=$1 src=$2 empty
    mkdir -p "${dir}"
    rm -f "${dir}/src_text.not_empty"
    empty=$(awk 'NF == 1 {print $1}' "${src}")
    if [ -n "${empty}" ]; then
        log "  ${src}: $(wc -l <<< "${empty}") empty source(s): empty translation(s)"
        awk 'NF > 1' "${src}" > "${dir}/src_text.not_empty"
        src=${dir}/src_text.not_empty
    fi
    if [ -s "${src}" ]; then
        decode_jobs "${dir}" "${src}" \
            ${python} -m espnet2.bin.mt_inference --ngpu "${inference_ngpu}" --batch_size 1 \
            --config "${inference_config}" \
            --data_path_and_name_and_type "${src},src_text,text" \
            --mt_train_config "$3" --mt_model_file "${mt_model}"
    else
        : > "${dir}/text"
    fi
    if [ -n "${empty}" ]; then
        { cat "${dir}/text"; echo "${empty}"; } | sort -k1,1 > "${dir}/text.all"
        mv "${dir}/text.all" "${dir}/text"
    fi
}

# score_set <dir> <test set> <exp dir>: sacreBLEU of <dir>/text against the set's references into
# <dir>/result.json, and <exp dir>/RESULTS.md rewritten (language tags stripped for --tgt_lang mul).
score_set() {
    # shellcheck disable=SC2086,SC2046
    ${python} -m ctcot.bin.score_st --hyp "$1/text" --ref "${data_feats}/$2/${tgt_text}" \
        --output_json "$1/result.json" --exp_dir "$3" ${lang_tag_opt/--lang_tags/--strip_lang_tags} $(group_opt "$2")
}

# group_opt <test set>: --utt2group data/<set>/<score_groups> where --score_groups names a file it has.
group_opt() {
    if [ -n "${score_groups}" ] && [ -f "data/$1/${score_groups}" ]; then echo "--utt2group data/$1/${score_groups}"; fi
}

# Arguments shared by every ESPnet training program reading our features.
feats_args() {  # feats_args <train dir> <valid dir>
    echo "--input_size $(head -n1 "$1/feat_dim") --normalize global_mvn \
        --normalize_conf stats_file=$1/feats_stats.npz \
        --train_data_path_and_name_and_type $1/feats.scp,speech,kaldi_ark \
        --valid_data_path_and_name_and_type $2/feats.scp,speech,kaldi_ark \
        --train_shape_file $1/speech_shape --valid_shape_file $2/speech_shape"
}
# TensorBoard and matplotlib plots are ESPnet's defaults; a config can turn them off.
common_train_args="--ngpu ${ngpu} --use_preprocessor true --non_linguistic_symbols none --cleaner none \
    --resume true"
if [ "${ngpu}" -gt 1 ]; then common_train_args+=" --multiprocessing_distributed true"; fi

log "${cmdline}"
# The configs of the stages to run, and the locks of what they write, before anything runs.
if runs 1 5; then take_lock data/.locks data; fi
if runs 6 && "${need_mt}" && ! "${external_mt}"; then
    require_config "${mt_config}" --mt_config
    take_lock "${expdir}/.locks" "mt_${mt_tag}"
fi
if { runs 7 || runs 12; } && [ "${pretrain}" != none ]; then
    if ! "${external_pretrain}"; then require_config "${pretrain_config}" --pretrain_config; fi
    take_lock "${expdir}/.locks" "pretrain_${pretrain_tag}"
fi
if runs 5 || runs 8; then require_config "${st_config}" --st_config; fi
if runs 8 11; then take_lock "${expdir}/.locks" "st_${st_tag}"; fi
if runs 6 || runs 9 || runs 12; then require_config "${inference_config}" --inference_config; fi
log "Experiments: ${st_exp} (ST), ${pretrain_exp} (pre-training ${pretrain}), ${mt_exp} (MT)"
if "${external_mt}"; then log "MT model from elsewhere: ${mt_model} (config ${mt_model_config})"; fi
if "${external_pretrain}"; then log "${pretrain} model from elsewhere: ${pretrain_model} (config ${pretrain_model_config})"; fi

# --- stage 1 -------------------------------------------------------------------------------------
if runs 1; then
    stage_start=${SECONDS}
    log "Stage 1: data preparation: local/data.sh ${local_data_opts}"
    sig=$(signature "${local_data_opts}" "${train_set}" "${valid_set}" "${test_sets}" "$(cat local/data.sh)")
    if is_done data "${sig}"; then
        log "  data/ already prepared with these options"
    else
        # shellcheck disable=SC2086
        local/data.sh ${local_data_opts}
    fi
    for dset in ${train_set} ${valid_set} ${test_sets}; do
        if ! ${python} -m ctcot.bin.validate_data_dir "data/${dset}" --text_files "${src_text_raw}" "${tgt_text}"; then
            log "Error: data/${dset} is not valid (problems and what to do above)"
            exit 1
        fi
    done
    mark_done data "${sig}"
    stage_done 1
fi

# --- stage 2 -------------------------------------------------------------------------------------
if runs 2 && [ -n "${speed_perturb_factors}" ]; then
    stage_start=${SECONDS}
    log "Stage 2: speed perturbation of data/${train_set} by ${speed_perturb_factors} -> data/${train_set_sp}"
    sig=$(signature "${speed_perturb_factors}" "$(cat data/.done 2>/dev/null)")
    if is_done "data/${train_set_sp}" "${sig}"; then
        log "  data/${train_set_sp}: done before"
    else
        # shellcheck disable=SC2086
        ${python} -m ctcot.bin.speed_perturb "data/${train_set}" "data/${train_set_sp}" --factors ${speed_perturb_factors}
        mark_done "data/${train_set_sp}" "${sig}"
    fi
    stage_done 2
fi

# --- stage 3 -------------------------------------------------------------------------------------
if runs 3; then
    stage_start=${SECONDS}
    log "Stage 3: fbank features (${nj} jobs) -> ${data_feats}"
    for dset in ${train_set_sp} ${valid_set} ${test_sets}; do
        if [ "${dset}" = "${train_set_sp}" ] || [ "${dset}" = "${valid_set}" ]; then
            out=${data_feats}/org/${dset}   # filtered in stage 4
        else
            out=${data_feats}/${dset}
        fi
        sig=$(signature "$(cat "data/${dset}"/{wav.scp,utt2spk} "data/${dset}"/text* "data/${dset}/segments" "data/${dset}/utt2speed" 2>/dev/null | md5sum)" \
            "${num_mel_bins}")
        if is_done "${out}" "${sig}"; then
            log "  ${out}: done before"
            continue
        fi
        rm -f "${out}/.done"
        mkdir -p "${out}"
        # The data directory travels with its features, as in ESPnet's dump/.
        for f in wav.scp segments utt2spk spk2utt utt2speed utt2uniq utt2dur reco2dur "${src_text_raw}" "${tgt_text}"; do
            if [ -f "data/${dset}/${f}" ]; then cp "data/${dset}/${f}" "${out}/${f}"; else rm -f "${out}/${f}"; fi
        done
        ${python} -m ctcot.bin.make_fbank --nj "${nj}" --num_mel_bins "${num_mel_bins}" "data/${dset}" "${out}"
        mark_done "${out}" "${sig}"
    done
    stage_done 3
fi

# --- stage 4 -------------------------------------------------------------------------------------
if runs 4; then
    stage_start=${SECONDS}
    min_frames=$(awk -v d="${min_wav_duration}" 'BEGIN{printf "%d", d * 100}')
    max_frames=$(awk -v d="${max_wav_duration}" 'BEGIN{printf "%d", d * 100}')
    log "Stage 4: filtering ${train_set_sp} and ${valid_set}: ${min_wav_duration}-${max_wav_duration} s, no empty text"
    for dset in ${train_set_sp} ${valid_set}; do
        require "${data_feats}/org/${dset}/.done" "stage 3"
        sig=$(signature "$(cat "${data_feats}/org/${dset}/.done")" "${min_frames}" "${max_frames}")
        if is_done "${data_feats}/${dset}" "${sig}"; then
            log "  ${data_feats}/${dset}: done before"
            continue
        fi
        rm -f "${data_feats}/${dset}/.done"
        ${python} -m ctcot.bin.filter_data_dir "${data_feats}/org/${dset}" "${data_feats}/${dset}" \
            --min_frames "${min_frames}" --max_frames "${max_frames}" --text_files "${src_text_raw}" "${tgt_text}" \
            --check_features
        cp "${data_feats}/org/${dset}/"{feats_stats.npz,feat_dim} "${data_feats}/${dset}/"
        mark_done "${data_feats}/${dset}" "${sig}"
    done
    stage_done 4
fi

# --- stage 5 -------------------------------------------------------------------------------------
if runs 5; then
    stage_start=${SECONDS}
    log "Stage 5: tokenizers: source ${src_token_type}, target bpe (${bpemode} ${tgt_nbpe})"
    train_dir=${data_feats}/${train_set_sp}
    require "${train_dir}/.done" "stage 4"
    done_files=()
    for dset in ${train_set_sp} ${valid_set} ${test_sets}; do done_files+=("${data_feats}/${dset}/.done"); done
    # The speech encoder's input layer (its frame subsampling) decides which utterances CTC can align.
    sig=$(signature "$(cat "${done_files[@]}")" "${src_token_type}" "${src_nbpe}" "${tgt_nbpe}" "${bpemode}" "${g2p_voice}" \
        "$(grep -E '^[[:space:]]*input_layer:' "${st_config}" || true)")
    if [ -n "${tokenizers_from}" ]; then
        for dir in "${src_tokendir}" "${tgt_tokendir}"; do
            require "${tokenizers_from}/${dir}/tokens.txt" "stage 5 in ${tokenizers_from} (with the same token options)"
        done
        sig=$(signature "${sig}" "${tokenizers_from}" "$(cat "${tokenizers_from}/${src_tokendir}/tokens.txt" "${tokenizers_from}/${tgt_tokendir}/tokens.txt" | md5sum)")
    fi
    # Markers: the source token directory's (which names the units; later stages read it) and one
    # in each set's directory, whose token files and shape files are stage 5's too.
    stage5_done=true
    for dir in "${src_tokendir}" "${done_files[@]%/.done}"; do
        if ! is_done "${dir}" "${sig}" "${stage5_marker}"; then stage5_done=false; fi
    done
    if "${stage5_done}"; then
        log "  ${src_tokendir} and ${tgt_tokendir}: done before"
    else
        rm -f "${src_tokendir}/${stage5_marker}" "${done_files[@]/%.done/${stage5_marker}}"
        test_dirs=()
        for dset in ${test_sets}; do test_dirs+=("${data_feats}/${dset}"); done
        from_args=()
        if [ -n "${tokenizers_from}" ]; then
            log "  the tokenizers of ${tokenizers_from}: ${src_tokendir}, ${tgt_tokendir}"
            from_args=(--tokenizers_from "${tokenizers_from}")
        fi
        # shellcheck disable=SC2086
        ${python} -m ctcot.bin.tokenizers prepare --train_dir "${train_dir}" --valid_dir "${data_feats}/${valid_set}" \
            --test_dirs "${test_dirs[@]}" --encoder_config "${st_config}" "${from_args[@]}" \
            --src_token_type "${src_token_type}" --src_text_raw "${src_text_raw}" --src_text "${src_text}" \
            --tgt_text "${tgt_text}" --src_tokendir "${src_tokendir}" --tgt_tokendir "${tgt_tokendir}" \
            --src_nbpe "${src_nbpe}" --tgt_nbpe "${tgt_nbpe}" --bpemode "${bpemode}" --g2p_voice "${g2p_voice}" \
            --src_shape "src_text_shape.${src_unit}" --tgt_shape "${tgt_shape}" ${lang_tag_opt}
        for dir in "${done_files[@]%/.done}" "${src_tokendir}"; do mark_done "${dir}" "${sig}" "${stage5_marker}"; done
    fi
    stage_done 5
fi

train_dir=${data_feats}/${train_set_sp}
valid_dir=${data_feats}/${valid_set}
tokens_done=${src_tokendir}/${stage5_marker}
# require_tokens: stage 5's outputs, which stages 6-8 read (dump/ may have been rebuilt since).
require_tokens() {
    local dir
    require "${tokens_done}" "stage 5"
    for dir in "${train_dir}" "${valid_dir}"; do require "${dir}/${stage5_marker}" "stage 5"; done
}
src_token_args="--src_token_type ${src_espnet_token_type} --src_token_list ${src_tokendir}/tokens.txt --src_bpemodel ${src_bpemodel}"

# --- stage 6 -------------------------------------------------------------------------------------
if runs 6; then
    stage_start=${SECONDS}
    if ! "${need_mt}"; then
        log "Stage 6: MT pre-training not needed (--pretrain ${pretrain}, --st_init_decoder_from_mt false)"
    elif "${external_mt}"; then
        log "Stage 6: no MT training (--mt_model ${mt_model}); no MT decoding of the test sets"
        require_model "${mt_model}" "${mt_model_config}" 6 --mt_model
    else
        log "Stage 6: MT pre-training (${src_lang} ${src_token_type} -> ${tgt_lang} bpe) -> ${mt_exp}; log: ${mt_exp}/train.log"
        require_tokens
        sig=$(signature "${mt_config_digest}" "${mt_args}" "$(cat "${tokens_done}")")
        if is_done "${mt_exp}" "${sig}"; then
            log "  ${mt_model} exists: done before"
        else
            # shellcheck disable=SC2086
            train_exp "${mt_exp}" "${sig}" ${python} -m espnet2.bin.mt_train ${common_train_args} \
                --config "${mt_config}" ${src_token_args} \
                --token_type bpe --token_list "${tgt_tokendir}/tokens.txt" --bpemodel "${tgt_bpemodel}" \
                --train_data_path_and_name_and_type "${train_dir}/${src_text},src_text,text" \
                --train_data_path_and_name_and_type "${train_dir}/${tgt_text},text,text" \
                --valid_data_path_and_name_and_type "${valid_dir}/${src_text},src_text,text" \
                --valid_data_path_and_name_and_type "${valid_dir}/${tgt_text},text,text" \
                --train_shape_file "${train_dir}/src_text_shape.${src_unit}" --train_shape_file "${train_dir}/${tgt_shape}" \
                --valid_shape_file "${valid_dir}/src_text_shape.${src_unit}" --valid_shape_file "${valid_dir}/${tgt_shape}" \
                --output_dir "${mt_exp}" ${mt_args}
        fi
        mt_test_sets=${test_sets}
        if [ -n "${lang_tag_opt}" ]; then
            log "  no MT decoding of the test sets: the MT model is multilingual (--tgt_lang mul)"
            mt_test_sets=""
        fi
        for dset in ${mt_test_sets}; do
            # The cascade's upper bound: beam search (the ST decoding config) on gold transcripts.
            dir=${mt_exp}/${mt_inference_tag}/${dset}
            sig=$(signature "${inference_config_digest}" "$(cat "${mt_exp}/.done")" \
                "$(md5sum < "${data_feats}/${dset}/${src_text}")" "$(md5sum < "${data_feats}/${dset}/${tgt_text}")")
            if is_done "${dir}" "${sig}"; then
                log "  ${dir}/result.json: done before"
                continue
            fi
            rm -f "${dir}/.done"
            decode_mt "${dir}" "${data_feats}/${dset}/${src_text}" "${mt_model_config}"
            score_set "${dir}" "${dset}" "${mt_exp}"
            mark_done "${dir}" "${sig}"
        done
    fi
    stage_done 6
fi

# --- stage 7 -------------------------------------------------------------------------------------
if runs 7; then
    stage_start=${SECONDS}
    if [ "${pretrain}" = none ]; then
        log "Stage 7: no speech pre-training (--pretrain none)"
    elif "${external_pretrain}"; then
        log "Stage 7: no ${pretrain} pre-training (--pretrain_model ${pretrain_model})"
        require_model "${pretrain_model}" "${pretrain_model_config}" 7 --pretrain_model
    else
        log "Stage 7: ${pretrain} pre-training -> ${pretrain_exp}; log: ${pretrain_exp}/train.log"
        require_tokens
        if [ -n "${pretrain_init_params}" ]; then require_model "${mt_model}" "${mt_model_config}" 6 --mt_model; fi
        sig=$(signature "${pretrain_config_digest}" "${pretrain_args}" "${pretrain_init_args}" \
            "$(cat "${tokens_done}")" "$(mt_signature)")
        if is_done "${pretrain_exp}" "${sig}"; then
            log "  ${pretrain_model} exists: done before"
        else
            # shellcheck disable=SC2206,SC2207  # word splitting of option strings intended
            pretrain_options=(--config "${pretrain_config}" ${pretrain_token_args} $(feats_args "${train_dir}" "${valid_dir}")
                --train_data_path_and_name_and_type "${train_dir}/${src_text},${pretrain_transcript},text"
                --valid_data_path_and_name_and_type "${valid_dir}/${src_text},${pretrain_transcript},text"
                --train_shape_file "${train_dir}/src_text_shape.${src_unit}" --valid_shape_file "${valid_dir}/src_text_shape.${src_unit}")
            if [ -n "${pretrain_init_params}" ]; then
                # shellcheck disable=SC2086
                log_init ${pretrain_init_params}
                log "  checking that it fits (ctcot.bin.check_init)"
                # shellcheck disable=SC2086
                ${python} -m ctcot.bin.check_init --task ctcot --init_param ${pretrain_init_params} \
                    --same_tokens ${pretrain_same_tokens} -- "${pretrain_options[@]}" ${pretrain_args} || exit 1
            fi
            # shellcheck disable=SC2086
            train_exp "${pretrain_exp}" "${sig}" ${python} -m "${pretrain_program}" ${common_train_args} "${pretrain_options[@]}" \
                --output_dir "${pretrain_exp}" ${pretrain_init_args} ${pretrain_args}
        fi
    fi
    stage_done 7
fi

# --- stage 8 -------------------------------------------------------------------------------------
if runs 8; then
    stage_start=${SECONDS}
    log "Stage 8: ST training -> ${st_exp}; log: ${st_exp}/train.log"
    require_tokens
    if [ "${pretrain}" != none ]; then require_model "${pretrain_model}" "${pretrain_model_config}" 7 --pretrain_model; fi
    if "${st_uses_mt}"; then require_model "${mt_model}" "${mt_model_config}" 6 --mt_model; fi
    # shellcheck disable=SC2086
    log_init ${st_init_params}
    train_src_text_args=""
    if "${st_multitask}"; then  # multi-task ST also reads the source transcripts
        train_src_text_args="--train_data_path_and_name_and_type ${train_dir}/${src_text},src_text,text
            --valid_data_path_and_name_and_type ${valid_dir}/${src_text},src_text,text
            --train_shape_file ${train_dir}/src_text_shape.${src_unit} --valid_shape_file ${valid_dir}/src_text_shape.${src_unit}"
    fi
    if [ "${st_train_config}" != "${st_config}" ]; then  # the pre-training's encoder stack in the ST config
        ${python} -m ctcot.bin.st_config "${st_config}" "${pretrain_model_config}" "${st_train_config}" || exit 1
    fi
    # The model's options (config, tokens, data), shared by the check and the training.
    # shellcheck disable=SC2206,SC2207  # word splitting of option strings intended
    st_options=(--config "${st_train_config}" ${src_token_args} --token_type bpe --token_list "${tgt_tokendir}/tokens.txt"
        --bpemodel "${tgt_bpemodel}" $(feats_args "${train_dir}" "${valid_dir}")
        --train_data_path_and_name_and_type "${train_dir}/${tgt_text},text,text"
        --valid_data_path_and_name_and_type "${valid_dir}/${tgt_text},text,text"
        --train_shape_file "${train_dir}/${tgt_shape}" --valid_shape_file "${valid_dir}/${tgt_shape}"
        ${train_src_text_args})
    sig=$(signature "${st_config_digest}" "${st_args}" "${st_init_args}" \
        "$(cat "${tokens_done}")" "$(pretrain_signature; mt_signature)")
    if is_done "${st_exp}" "${sig}"; then
        log "  ${st_exp}/${inference_model} exists: done before"
    else
        if [ -n "${st_init_params}" ]; then
            log "  checking that the models loaded fit the ST model (ctcot.bin.check_init)"
            # shellcheck disable=SC2086
            ${python} -m ctcot.bin.check_init --task "${st_task}" --init_param ${st_init_params} \
                --same_tokens ${st_same_tokens} -- "${st_options[@]}" ${st_args} || exit 1
        fi
        # shellcheck disable=SC2086
        train_exp "${st_exp}" "${sig}" ${python} -m "${st_program}" ${common_train_args} "${st_options[@]}" \
            --output_dir "${st_exp}" ${st_init_args} ${st_args}
    fi
    stage_done 8
fi

# --- stage 9 -------------------------------------------------------------------------------------
if runs 9; then
    stage_start=${SECONDS}
    log "Stage 9: decoding ${test_sets} with ${st_exp}/${inference_model} (${inference_nj} jobs)"
    require "${st_exp}/${inference_model}" "stage 8"
    for dset in ${test_sets}; do
        dir=${st_exp}/${inference_tag}/${dset}
        sig=$(signature "${inference_config_digest}" "${inference_args}" \
            "$(cat "${st_exp}/.done")" "$(md5sum < "${data_feats}/${dset}/feats.scp")")
        if is_done "${dir}" "${sig}"; then
            log "  ${dir}/text: done before"
            continue
        fi
        decode_st "${dir}" "${dset}" "${st_exp}/config.yaml" "${st_exp}/${inference_model}"
        mark_done "${dir}" "${sig}"
        log "  ${dir}/text: $(wc -l < "${dir}/text") hypotheses"
    done
    stage_done 9
fi

# --- stage 10 ------------------------------------------------------------------------------------
if runs 10; then
    stage_start=${SECONDS}
    log "Stage 10: scoring with sacreBLEU"
    for dset in ${test_sets}; do
        dir=${st_exp}/${inference_tag}/${dset}
        require "${dir}/.done" "stage 9"
        score_set "${dir}" "${dset}" "${st_exp}"
    done
    cat "${st_exp}/RESULTS.md"
    stage_done 10
fi

# --- stage 11 ------------------------------------------------------------------------------------
if runs 11; then
    stage_start=${SECONDS}
    packed=${st_exp}/${st_tag}_packed.zip
    log "Stage 11: packing ${st_exp}/${inference_model} -> ${packed}"
    require "${st_exp}/${inference_model}" "stage 8"
    # The normalisation statistics and the SentencePiece model are named in config.yaml: the packer
    # stores them and rewrites the paths. decode.yaml: the decoding options, for ctcot.bin.translate.
    cp "${inference_config}" "${st_exp}/decode.yaml"
    options=(--option "${train_dir}/feats_stats.npz" --option "${tgt_bpemodel}" --option "${st_exp}/decode.yaml")
    for f in "${st_exp}/RESULTS.md" "${st_exp}/images"; do
        if [ -e "${f}" ]; then options+=(--option "${f}"); fi
    done
    # Packed under a temporary name, then renamed: a failed packing (a full disk) leaves no
    # truncated archive under the final name, and an earlier archive intact.
    partial=${st_exp}/.${st_tag}_packed.partial.zip
    rm -f "${partial}"
    if ! ${python} -m espnet2.bin.pack st --st_train_config "${st_exp}/config.yaml" \
            --st_model_file "${st_exp}/${inference_model}" "${options[@]}" --outpath "${partial}" \
            > "${st_exp}/pack.log" 2>&1; then
        rm -f "${partial}"
        tail -n 5 "${st_exp}/pack.log" | sed 's/^/    /' 1>&2
        disk_full "${st_exp}/pack.log" "${st_exp}"
        log "Error: packing ${packed} failed (log: ${st_exp}/pack.log); ${packed} is left as it was"
        exit 1
    fi
    mv -f "${partial}" "${packed}"
    stage_done 11
fi

# --- stage 12 ------------------------------------------------------------------------------------
if runs 12; then
    stage_start=${SECONDS}
    gap_dir=${pretrain_exp}/modality_gap_${valid_set}
    if [ "${pretrain}" = none ]; then
        log "Stage 12: no pre-trained speech encoder to analyse (--pretrain none)"
    else
        require_model "${pretrain_model}" "${pretrain_model_config}" 7 --pretrain_model
        require_model "${mt_model}" "${mt_model_config}" "6 (it trains MT only when needed: --pretrain ctc_ot* or --st_init_decoder_from_mt true)" --mt_model
        require "${valid_dir}/feats.scp" "stage 4"
        speech_config=$(model_config "${pretrain_model_config}" "${external_pretrain}" "${pretrain_exp}/external/speech_config.yaml") || exit 1
        mt_build_config=$(model_config "${mt_model_config}" "${external_mt}" "${pretrain_exp}/external/mt_config.yaml") || exit 1
        # The zero-shot encoder swap: this speech encoder with the MT decoder, no ST training.
        log "Stage 12: zero-shot ST: the speech encoder of ${pretrain_model}, the decoder of ${mt_model} -> ${zero_shot_dir}"
        sig=$(signature "$(pretrain_signature; mt_signature)")
        if is_done "${zero_shot_dir}" "${sig}"; then
            log "  ${zero_shot_dir}/model.pth: done before"
        else
            rm -f "${zero_shot_dir}/.done"
            run_logged "${zero_shot_dir}/zero_shot.log" ${python} -m ctcot.bin.zero_shot \
                --speech_config "${speech_config}" --speech_model "${pretrain_model}" \
                --mt_config "${mt_build_config}" --mt_model "${mt_model}" --output_dir "${zero_shot_dir}" || exit 1
            mark_done "${zero_shot_dir}" "${sig}"
        fi
        zero_shot_results=()
        for dset in ${test_sets}; do
            dir=${zero_shot_dir}/${zero_shot_tag}/${dset}
            sig=$(signature "${inference_config_digest}" "${inference_args}" \
                "$(cat "${zero_shot_dir}/.done")" "$(md5sum < "${data_feats}/${dset}/feats.scp")")
            if is_done "${dir}" "${sig}"; then
                log "  ${dir}/result.json: done before"
            else
                rm -f "${dir}/.done"
                decode_st "${dir}" "${dset}" "${zero_shot_dir}/config.yaml" "${zero_shot_dir}/model.pth"
                score_set "${dir}" "${dset}" "${zero_shot_dir}"
                mark_done "${dir}" "${sig}"
            fi
            zero_shot_results+=(--zero_shot_result "${dset}=${dir}/result.json")
        done

        # The cascade of a CTC pre-training: its greedy CTC transcripts of each test set (and their token
        # error rate), translated by the MT model as stage 6 translates the gold transcripts.
        if [ -z "${cascade_dir}" ]; then
            log "  no cascade: --pretrain ${pretrain} has no CTC"
        elif [ -n "${lang_tag_opt}" ]; then
            log "  no cascade: the MT model is multilingual (--tgt_lang mul)"
        else
            log "Stage 12: cascade: the greedy CTC transcripts of ${pretrain_model}, translated by ${mt_model} -> ${cascade_dir}"
            cascade_device=cpu
            if [ "${inference_ngpu}" -gt 0 ]; then cascade_device=cuda; fi
            for dset in ${test_sets}; do
                dir=${cascade_dir}/${dset}
                require "${data_feats}/${dset}/${src_text}" "stage 5"
                sig=$(signature "$(pretrain_signature)" "$(md5sum < "${data_feats}/${dset}/feats.scp")" \
                    "$(md5sum < "${data_feats}/${dset}/${src_text}")" "$(group_opt "${dset}")")
                if is_done "${dir}" "${sig}"; then
                    log "  ${dir}/text and ctc_error.json: done before"
                else
                    rm -f "${dir}/.done"
                    # shellcheck disable=SC2046
                    run_logged "${dir}/cascade.log" ${python} -m ctcot.bin.cascade --config "${speech_config}" \
                        --model_file "${pretrain_model}" --data_dir "${data_feats}/${dset}" --src_text "${src_text}" \
                        --output_dir "${dir}" --device "${cascade_device}" $(group_opt "${dset}") || exit 1
                    mark_done "${dir}" "${sig}"
                fi
                out=${cascade_dir}/${zero_shot_tag}/${dset}
                sig=$(signature "${inference_config_digest}" "$(mt_signature)" "$(cat "${dir}/.done")" \
                    "$(md5sum < "${data_feats}/${dset}/${tgt_text}")")
                if is_done "${out}" "${sig}"; then
                    log "  ${out}/result.json: done before"
                else
                    rm -f "${out}/.done"
                    decode_mt "${out}" "${dir}/text" "${mt_build_config}"
                    score_set "${out}" "${dset}" "${cascade_dir}"
                    mark_done "${out}" "${sig}"
                fi
            done
        fi

        # The gap curves: every epoch's model (kept with keep_epoch_models: true in the pre-training
        # config), with its zero-shot BLEU on the first test set's first utterances.
        curve_args=()
        pretrain_model_dir=$(dirname "${pretrain_model}")  # ${pretrain_exp}, unless the model is from elsewhere
        if ! "${gap_curves}"; then
            log "  no gap curves (--gap_curves false)"
        elif [ -d "${pretrain_model_dir}/epochs" ]; then
            curve_args=(--curve_exp_dir "${pretrain_model_dir}")
            first_test=${test_sets%% *}
            if [ -z "${lang_tag_opt}" ]; then
                curve_args+=(--curve_zero_shot_dir "${zero_shot_dir}" --curve_zero_shot_data "${data_feats}/${first_test}"
                             --curve_zero_shot_ref "${tgt_text}" --decode_config "${inference_config}")
            fi
        else
            log "  no gap curves: ${pretrain_model_dir}/epochs does not exist (keep_epoch_models: true in the pre-training's config keeps every epoch's model)"
        fi

        # Against the MT encoder, for every pre-training: the space the MT-initialised decoder knows;
        # CTC+OT also against its own text encoder, which trains with it (gap_own_text_dir).
        own_text_args=()
        if [ -n "${gap_own_text_dir}" ]; then own_text_args=(--own_text_output_dir "${gap_own_text_dir}"); fi
        log "Stage 12: modality gap of ${pretrain_model} vs the text encoder of ${mt_model} on ${valid_set} -> ${gap_dir} ${gap_own_text_dir}"
        sig=$(signature "$(pretrain_signature; mt_signature)" "${gap_args}" \
            "$(md5sum < "${valid_dir}/feats.scp")" "$(md5sum < "${valid_dir}/${src_text}")" \
            "${zero_shot_results[*]} ${curve_args[*]} ${own_text_args[*]}" \
            "$(cat "${zero_shot_dir}"/*/*/result.json 2>/dev/null | md5sum)")
        if is_done "${gap_dir}" "${sig}"; then
            log "  ${gap_dir}/gap.json${gap_own_text_dir:+ and ${gap_own_text_dir}/gap.json}: done before"
        else
            rm -rf "${gap_dir}" "${gap_own_text_dir}"  # no plots of an earlier run left beside the new ones
            # shellcheck disable=SC2086
            run_logged "${gap_dir}/modality_gap.log" ${python} -m ctcot.bin.modality_gap \
                --speech_config "${speech_config}" --speech_model "${pretrain_model}" \
                --text_config "${mt_build_config}" --text_model "${mt_model}" \
                --data_dir "${valid_dir}" --src_text "${src_text}" --output_dir "${gap_dir}" \
                "${zero_shot_results[@]}" "${curve_args[@]}" "${own_text_args[@]}" ${gap_args} || exit 1
            mark_done "${gap_dir}" "${sig}"
        fi
        for dir in "${gap_dir}" ${gap_own_text_dir}; do sed 's/^/    /' "${dir}/summary.txt"; done
    fi
    stage_done 12
fi

log "Successfully finished in ${SECONDS}s"
