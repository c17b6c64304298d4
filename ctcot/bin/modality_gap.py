#!/usr/bin/env python3
"""Measure the modality gap between a pre-trained speech encoder and a text encoder (st.sh stage 12).

Usage (from a recipe directory, egs2/<corpus>/st1):
    python -m ctcot.bin.modality_gap \\
        --speech_config exp/pretrain_ctc_ot/config.yaml --speech_model exp/pretrain_ctc_ot/valid.loss.ave.pth \\
        --text_config exp/mt_train_mt/config.yaml --text_model exp/mt_train_mt/valid.acc.ave.pth \\
        --data_dir dump/fbank/dev --src_text text.phn.en --output_dir exp/pretrain_ctc_ot/modality_gap_dev

Encodes the features of <data_dir>/feats.scp with the speech model (an ESPnet ASR model, i.e. CE or
CTC+CE pre-training, or a ctcot CTCOTModel, i.e. CTC or CTC+OT) and the source transcripts with the
text model (an ESPnet MT model's encoder, or a CTCOTModel's text encoder), then writes to
--output_dir: gap.json (Sinkhorn divergence, paired/unpaired cosine, linear CKA, speech->text
retrieval, and the zero-shot swap's scores given by --zero_shot_result; "notes" says how each
reads), per_utt.tsv, summary.txt (printed too), plan_<utt>.png
(transport plans of speech frames to tokens) and projection.png (joint PCA of pooled states).
With --own_text_output_dir, the same against the speech model's own text encoder (CTC+OT's).
With --curve_exp_dir, also curves.tsv and curves.png: the figures of the model of every epoch (and,
with --curve_zero_shot_*, its zero-shot BLEU on the first utterances of a set, greedy by default).
Exits 1 with a message naming the file if an input is missing or inconsistent. See
ctcot.modality_gap.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from ctcot import InputError
from ctcot.bin import run
from ctcot.encoders import SPEECH_TASKS, TEXT_TASKS, detect_task, load_encoder
from ctcot.gap_curves import ZeroShotData, analyse_curve
from ctcot.modality_gap import analyse, format_summary
from ctcot.ot import SinkhornOptions
from ctcot.zero_shot import load_decode_config


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Modality gap between a pre-trained speech encoder and a text encoder on a data set.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    group = parser.add_argument_group("models")
    group.add_argument("--speech_config", required=True, help="config.yaml of the speech pre-training experiment")
    group.add_argument("--speech_model", required=True, help="its checkpoint, e.g. valid.loss.ave.pth")
    group.add_argument("--speech_task", choices=("auto", *SPEECH_TASKS), default="auto",
                       help="ESPnet task of the speech model: asr (CE, CTC+CE) or ctcot (CTC, CTC+OT); "
                            "auto: ctcot if the config has a text_encoder, else asr")
    group.add_argument("--text_config", required=True,
                       help="config.yaml of the text model, e.g. the MT experiment's (its source tokenisation is used)")
    group.add_argument("--text_model", required=True, help="its checkpoint, e.g. valid.acc.ave.pth")
    group.add_argument("--text_task", choices=("auto", *TEXT_TASKS), default="auto",
                       help="ESPnet task of the text model: mt (the MT encoder) or ctcot (a CTC+OT model's text "
                            "encoder); auto: ctcot if the config has a text_encoder, else mt")

    group = parser.add_argument_group("data and output")
    group.add_argument("--data_dir", required=True,
                       help="data directory with feats.scp and --src_text, e.g. dump/fbank/dev")
    group.add_argument("--src_text", required=True,
                       help="source transcript file in --data_dir, as the text model was trained on (text.phn.en, ...)")
    group.add_argument("--output_dir", required=True, help="where gap.json, per_utt.tsv and the plots go")
    group.add_argument("--own_text_output_dir", default=None,
                       help="also the gap to the speech model's own text encoder (CTC+OT trains one), into this "
                            "directory (no zero-shot scores or curves there)")
    group.add_argument("--max_utts", type=int, default=None,
                       help="analyse only the first N utterances of feats.scp; None: all")
    group.add_argument("--zero_shot_result", action="append", default=[], metavar="SET=RESULT_JSON",
                       help="a zero-shot swap's score (result.json of ctcot.bin.score_st) to put in gap.json and "
                            "summary.txt; repeat for several sets")

    group = parser.add_argument_group("optimal transport (the same for every model: comparable figures)")
    group.add_argument("--ot_blur", type=float, default=SinkhornOptions.blur,
                       help="entropic blur of the Sinkhorn divergence")
    group.add_argument("--ot_scaling", type=float, default=SinkhornOptions.scaling,
                       help="its eps-scaling ratio, in (0, 1)")
    group.add_argument("--ot_position_weight", type=float, default=SinkhornOptions.position_weight,
                       help="scale of the relative-position coordinate appended to every state (0: none)")

    group = parser.add_argument_group("gap curves: the figures of every epoch's model (ctcot.gap_curves)")
    group.add_argument("--curve_exp_dir", default=None,
                       help="a pre-training experiment trained with keep_epoch_models: true; writes curves.tsv and "
                            "curves.png with the figures of each epoch's model on --data_dir")
    group.add_argument("--curve_zero_shot_dir", default=None,
                       help="with --curve_exp_dir: a zero-shot model (ctcot.bin.zero_shot's config.yaml and model.pth) "
                            "to decode with each epoch's speech encoder, for a zero-shot BLEU curve")
    group.add_argument("--curve_zero_shot_data", default=None,
                       help="the data directory it decodes (feats.scp and --curve_zero_shot_ref), e.g. dump/fbank/test")
    group.add_argument("--curve_zero_shot_ref", default=None, help="the references' file in it, e.g. text.tc.de")
    group.add_argument("--curve_zero_shot_utts", type=int, default=50,
                       help="decode only the first N utterances of its feats.scp")
    group.add_argument("--curve_zero_shot_beam", type=int, default=1,
                       help="beam size of the curve's decoding (1: greedy, about 5x faster than beam 5); the "
                            "other options are --decode_config's")
    group.add_argument("--decode_config", default=None, help="ESPnet ST decoding options (decode_st.yaml)")

    group = parser.add_argument_group("plots and computation")
    group.add_argument("--num_plans", type=int, default=4, help="utterances whose transport plan is plotted")
    group.add_argument("--num_pairs_shown", type=int, default=50,
                       help="speech/text pairs joined by a line in projection.png")
    group.add_argument("--batch_size", type=int, default=16,
                       help="utterances per text-encoder and Sinkhorn batch (the speech encoder gets one at a "
                            "time, as in ESPnet's inference: its padded batches change the states)")
    group.add_argument("--device", default="cpu", help="torch device of the encoders, e.g. cpu or cuda")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    zero_shot_options = (args.curve_zero_shot_data, args.curve_zero_shot_ref, args.decode_config)
    if args.curve_zero_shot_dir is not None and (args.curve_exp_dir is None or None in zero_shot_options):
        get_parser().error("--curve_zero_shot_dir needs --curve_exp_dir, --curve_zero_shot_data, "
                           "--curve_zero_shot_ref and --decode_config")
    for name in ("batch_size", "max_utts", "curve_zero_shot_utts", "curve_zero_shot_beam"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            get_parser().error(f"--{name} must be at least 1")
    try:
        ot_options = SinkhornOptions(args.ot_blur, args.ot_scaling, args.ot_position_weight)
    except InputError as err:
        get_parser().error(f"--ot_*: {err}")

    zero_shot = {}
    for item in args.zero_shot_result:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            get_parser().error(f"--zero_shot_result {item!r}: expected SET=RESULT_JSON")
        zero_shot[name] = path

    def task() -> None:
        speech_task = detect_task(args.speech_config, "speech") if args.speech_task == "auto" else args.speech_task
        text_task = detect_task(args.text_config, "text") if args.text_task == "auto" else args.text_task
        speech = load_encoder(args.speech_config, args.speech_model, speech_task, args.device)
        text = load_encoder(args.text_config, args.text_model, text_task, args.device)
        result = analyse(
            speech, text, args.data_dir, args.src_text, args.output_dir,
            options=ot_options, batch_size=args.batch_size, num_plans=args.num_plans,
            num_pairs_shown=args.num_pairs_shown, max_utts=args.max_utts, zero_shot=zero_shot, device=args.device,
        )
        print(format_summary(result))
        if args.own_text_output_dir is not None:
            own_text = load_encoder(args.speech_config, args.speech_model, "ctcot", args.device)
            print(format_summary(analyse(
                speech, own_text, args.data_dir, args.src_text, args.own_text_output_dir,
                options=ot_options, batch_size=args.batch_size, num_plans=args.num_plans,
                num_pairs_shown=args.num_pairs_shown, max_utts=args.max_utts, device=args.device)))
        if args.curve_exp_dir is not None:
            curve_zero_shot = None
            if args.curve_zero_shot_dir is not None:
                curve_zero_shot = ZeroShotData(
                    st_config=Path(args.curve_zero_shot_dir) / "config.yaml",
                    st_model=Path(args.curve_zero_shot_dir) / "model.pth",
                    decode_options={**load_decode_config(args.decode_config), "beam_size": args.curve_zero_shot_beam},
                    data_dir=args.curve_zero_shot_data,
                    ref=args.curve_zero_shot_ref, max_utts=args.curve_zero_shot_utts)
            # The analysed model takes each epoch's weights in turn.
            analyse_curve(speech, args.curve_exp_dir, text, args.data_dir, args.src_text, args.output_dir,
                          max_utts=args.max_utts, batch_size=args.batch_size, options=ot_options,
                          zero_shot=curve_zero_shot, device=args.device)

    return run(task)


if __name__ == "__main__":
    sys.exit(main())
