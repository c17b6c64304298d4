"""Token units for the recipes: SentencePiece models, espeak-ng phonemes, ESPnet token lists and shapes.

ESPnet's token list (``tokens.txt``) is the one its ``st.sh`` writes: ``<blank>`` (index 0, the
CTC blank), ``<unk>``, the units, then ``<sos/eos>`` last. For SentencePiece the units are the
model's pieces minus its own ``<unk>``, ``<s>``, ``</s>``; for phonemes they are the phonemes by
decreasing frequency. Phoneme transcripts are written as space-separated phonemes, which ESPnet
reads with ``token_type word``.

Shape files tell ESPnet's batch samplers how long each example is: ``<utt> <length>,<dim>``
(``speech_shape``: frames and feature dimension; text: tokens and vocabulary size).
"""
import collections
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import sentencepiece as spm
import yaml

from ctcot import ExternalProgramError, InputError
from ctcot.data_dir import read_kv
from ctcot.fileio import PathLike, atomic_write
from ctcot.filtering import drop_ctc_infeasible

__all__ = [
    "SPECIAL_FIRST", "SPECIAL_LAST", "LANG_TAG", "lang_tag", "lang_tags_of", "strip_lang_tag", "train_sentencepiece",
    "phonemize", "phonemize_text_file", "phoneme_inventory",
    "write_token_list", "read_token_list", "sos_eos_index", "tokenizer_for", "write_shapes", "write_shape_file",
    "write_speech_shape", "encoder_input_layer", "TokenSetup", "prepare_tokens",
]

logger = logging.getLogger(__name__)

SPECIAL_FIRST = ("<blank>", "<unk>")
SPECIAL_LAST = ("<sos/eos>",)
LANG_TAG = re.compile(r"^(<2[^<>\s]+>)(?: |$)")  # a target-language tag first in a sentence: "<2de> Hallo"


def sos_eos_index(vocab_size: int) -> int:
    """Index of ``<sos/eos>`` in an ESPnet token list of ``vocab_size`` tokens: the last one."""
    return vocab_size - 1


def lang_tag(lang: str) -> str:
    """The target-language tag of ``lang``: ``<2de>``."""
    return f"<2{lang}>"


def strip_lang_tag(sentence: str) -> str:
    """``sentence`` without its leading target-language tag (``<2de> Hallo`` -> ``Hallo``)."""
    return LANG_TAG.sub("", sentence, count=1)


def write_token_list(units: Iterable[str], path: PathLike) -> List[str]:
    """Write ESPnet's token list: ``<blank>``, ``<unk>``, ``units``, ``<sos/eos>``."""
    tokens = [*SPECIAL_FIRST, *(u for u in units if u not in SPECIAL_FIRST + SPECIAL_LAST), *SPECIAL_LAST]
    _write_lines(Path(path), tokens)
    return tokens


def read_token_list(path: PathLike) -> List[str]:
    """Read ESPnet's token list from ``path``, checking its shape (``<blank>`` first, ``<sos/eos>`` last);
    :func:`ctcot.init_param.token_list_of` reads one as ESPnet does, also from a config's list."""
    tokens = Path(path).read_text(encoding="utf-8").splitlines()
    if not tokens or tokens[0] != "<blank>" or tokens[-1] != "<sos/eos>":
        raise InputError(f"{path}: not an ESPnet token list (must start with <blank> and end with <sos/eos>)")
    return tokens


def lang_tags_of(sentences: Sequence[str], text_file: PathLike) -> List[str]:
    """The target-language tags (``<2de>``) that begin every sentence of a multilingual text file."""
    tags = set()
    for n, sentence in enumerate(sentences, 1):
        match = LANG_TAG.match(sentence)
        if not match:
            raise InputError(f"{text_file}: transcript {n} ({sentence[:40]!r}) does not begin with a "
                             f"target-language tag such as <2de> followed by a space")
        tags.add(match.group(1))
    return sorted(tags)


def train_sentencepiece(text_file: PathLike, output_dir: PathLike, vocab_size: int,
                        model_type: str = "unigram", character_coverage: float = 1.0,
                        lang_tags: bool = False) -> Path:
    """Train ``<output_dir>/bpe.model`` on the transcripts of a Kaldi text file; write ``tokens.txt``.

    ``hard_vocab_limit=False`` lets a small corpus end with fewer pieces than ``vocab_size``.
    With ``lang_tags``, every transcript begins with a target-language tag (multilingual targets,
    ``<2de> Hallo Welt.``): the tags become single pieces, and without SentencePiece's dummy prefix
    the tag is the first piece (``<2de> ▁Hallo ▁Welt.``, not ``▁ <2de> ...``), so that decoding can
    be forced to start with it.

    Returns:
        The path of the model.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    sentences = [s for s in read_kv(text_file, allow_empty=True).values() if s]
    if not sentences:
        raise InputError(f"{text_file}: no transcripts to train a SentencePiece model on")
    tags = lang_tags_of(sentences, text_file) if lang_tags else []
    corpus = output_dir / "train.txt"
    _write_lines(corpus, sentences)
    # Train under a temporary prefix, so an interrupted run never leaves a model that looks complete.
    prefix = output_dir / "bpe.tmp"
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(prefix), vocab_size=vocab_size, model_type=model_type,
        character_coverage=character_coverage, hard_vocab_limit=False, input_sentence_size=10_000_000,
        shuffle_input_sentence=True, minloglevel=2, user_defined_symbols=tags, add_dummy_prefix=not tags)
    os.replace(f"{prefix}.vocab", output_dir / "bpe.vocab")
    os.replace(f"{prefix}.model", output_dir / "bpe.model")
    pieces = [line.split("\t")[0] for line in (output_dir / "bpe.vocab").read_text(encoding="utf-8").splitlines()]
    tokens = write_token_list(pieces[3:], output_dir / "tokens.txt")  # drop <unk>, <s>, </s>
    logger.info(f"{output_dir}/bpe.model: {model_type}, {len(pieces)} pieces (asked {vocab_size}) "
                f"from {len(sentences)} sentences; token list: {len(tokens)} entries")
    return output_dir / "bpe.model"


def phonemize(sentences: Sequence[str], voice: str = "en-us", chunk_size: int = 500) -> List[List[str]]:
    """Phonemes of each sentence by espeak-ng (IPA; stress marks stay on their vowel).

    Sentences go to espeak-ng in chunks, one per line; a chunk whose output does not have one line
    per sentence (espeak-ng breaks clauses at punctuation) is redone one sentence at a time.

    Returns:
        One list of phonemes per sentence (word boundaries are not kept).
    """
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise FileNotFoundError("espeak-ng is not installed: run tools/setup_env.sh as root, "
                                "or `apt-get install espeak-ng`")

    def run(lines: Sequence[str]) -> List[str]:
        result = subprocess.run([binary, "-q", "--ipa", "-v", voice, "--sep= "], input="\n".join(lines) + "\n",
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ExternalProgramError(f"espeak-ng -v {voice} failed: {result.stderr.strip()}")
        return [line for line in result.stdout.splitlines() if line.strip()]

    phonemes: List[List[str]] = []
    for start in range(0, len(sentences), chunk_size):
        chunk = [" ".join(s.split()) for s in sentences[start:start + chunk_size]]
        if any(not s for s in chunk):
            raise InputError(f"sentence {start + next(i for i, s in enumerate(chunk) if not s)}: empty")
        lines = run(chunk)
        if len(lines) != len(chunk):
            lines = [" ".join(run([s])) for s in chunk]
        phonemes.extend(line.split() for line in lines)
    return phonemes


def phonemize_text_file(text_file: PathLike, output: PathLike, voice: str = "en-us") -> int:
    """Write the phoneme transcript (``<utt> <ph> <ph> ...``) of a Kaldi text file; return its size."""
    transcripts = read_kv(text_file)
    phonemes = phonemize(list(transcripts.values()), voice)
    _write_lines(Path(output), [f"{utt} {' '.join(ph)}" for utt, ph in zip(transcripts, phonemes)])
    logger.info(f"{output}: {len(transcripts)} phoneme transcripts from {text_file} (espeak-ng -v {voice})")
    return len(transcripts)


def phoneme_inventory(text_file: PathLike) -> List[str]:
    """The phonemes of a phoneme transcript file, most frequent first (ties by name)."""
    counts = collections.Counter(ph for line in read_kv(text_file).values() for ph in line.split())
    return sorted(counts, key=lambda ph: (-counts[ph], ph))


def tokenizer_for(token_type: str, bpemodel: PathLike = None) -> Callable[[str], List[str]]:
    """The tokenisation ESPnet's preprocessor applies for ``token_type`` (``bpe`` or ``word``)."""
    if token_type == "bpe":
        processor = spm.SentencePieceProcessor(model_file=str(bpemodel))
        return lambda text: processor.encode(text, out_type=str)
    if token_type == "word":
        return str.split
    raise InputError(f"token_type {token_type!r}: expected 'bpe' or 'word'")


def write_shapes(lengths: Mapping[str, int], dim: int, output: PathLike) -> None:
    """Write a shape file: ``<utt> <length>,<dim>`` per utterance."""
    _write_lines(Path(output), [f"{utt} {n},{dim}" for utt, n in lengths.items()])


def write_shape_file(text_file: PathLike, output: PathLike, tokenize: Callable[[str], List[str]],
                     vocab_size: int) -> Dict[str, int]:
    """Write ``<utt> <num_tokens>,<vocab_size>`` for every transcript; return the lengths."""
    lengths = {utt: len(tokenize(text)) for utt, text in read_kv(text_file).items()}
    write_shapes(lengths, vocab_size, output)
    return lengths


def write_speech_shape(data_dir: PathLike) -> Path:
    """Write ``<data_dir>/speech_shape``: ``<utt> <frames>,<feature dim>``, from ``utt2num_frames`` and ``feat_dim``."""
    data_dir = Path(data_dir)
    frames = {utt: int(n) for utt, n in read_kv(data_dir / "utt2num_frames").items()}
    dim = int((data_dir / "feat_dim").read_text().split()[0])
    write_shapes(frames, dim, data_dir / "speech_shape")
    return data_dir / "speech_shape"


def encoder_input_layer(config: PathLike) -> Optional[str]:
    """The ``encoder_conf.input_layer`` of an ESPnet training config (ESPnet's default: conv2d)."""
    with open(config, encoding="utf-8") as f:
        value = yaml.safe_load(f) or {}
    return (value.get("encoder_conf") or {}).get("input_layer", "conv2d")


@dataclass(frozen=True)
class TokenSetup:
    """How stage 5 tokenises: st.sh's token options and the names it derives (:func:`ctcot.recipe.recipe_settings`)."""

    src_token_type: str  # "phn" (espeak-ng phonemes) or "bpe"
    src_text_raw: str  # the source transcripts' file in each data directory (text.lc.rm.en)
    src_text: str  # the tokenised source's file (text.phn.en for phonemes, else src_text_raw)
    tgt_text: str  # the targets' file (text.tc.de)
    src_tokendir: str  # where the source tokens.txt (and bpe.model) go
    tgt_tokendir: str
    src_nbpe: int = 1000
    tgt_nbpe: int = 1000
    bpemode: str = "unigram"
    g2p_voice: str = "en-us"
    lang_tags: bool = False  # every target begins with a language tag (--tgt_lang mul)
    src_shape: str = "src_text_shape"  # the shape files' names in the training and validation directories
    tgt_shape: str = "text_shape"

    @property
    def src_tokenizer(self) -> Tuple[str, Optional[Path]]:
        """ESPnet's token type of the source and its SentencePiece model (None for phonemes)."""
        if self.src_token_type == "phn":
            return "word", None
        return "bpe", Path(self.src_tokendir) / "bpe.model"


def prepare_tokens(setup: TokenSetup, train_dir: PathLike, valid_dir: PathLike, test_dirs: Sequence[PathLike],
                   encoder_config: PathLike, tokenizers_from: Optional[PathLike] = None) -> None:
    """Stage 5: the source and target tokenizers, and the shape files ESPnet's batch samplers read.

    1. Phonemes (``src_token_type`` phn): every set's ``src_text_raw`` -> ``src_text`` (espeak-ng).
    2. The token lists: copied from another recipe (``tokenizers_from``, its ``data/token_list``
       directories of the same names), or trained on the training set (the phoneme inventory or a
       source SentencePiece model; a target SentencePiece model).
    3. In the training and validation directories: ``speech_shape`` and the source and target shape
       files, without the utterances CTC cannot align to their frames after the subsampling of
       ``encoder_config``'s input layer (:func:`ctcot.filtering.drop_ctc_infeasible`).
    """
    if setup.src_token_type == "phn":
        for data_dir in (train_dir, valid_dir, *test_dirs):
            phonemize_text_file(Path(data_dir) / setup.src_text_raw, Path(data_dir) / setup.src_text, setup.g2p_voice)
    train_dir = Path(train_dir)
    if tokenizers_from is not None:
        for token_dir in (setup.src_tokendir, setup.tgt_tokendir):
            logger.info("%s <- %s", token_dir, Path(tokenizers_from) / token_dir)
            shutil.rmtree(token_dir, ignore_errors=True)
            # not its hidden files: the other recipe's markers
            shutil.copytree(Path(tokenizers_from) / token_dir, token_dir, ignore=shutil.ignore_patterns(".*"))
    else:
        if setup.src_token_type == "phn":
            token_list = Path(setup.src_tokendir) / "tokens.txt"
            token_list.parent.mkdir(parents=True, exist_ok=True)
            tokens = write_token_list(phoneme_inventory(train_dir / setup.src_text), token_list)
            logger.info("%s: %d phonemes", token_list, len(tokens) - 3)
        else:
            train_sentencepiece(train_dir / setup.src_text, setup.src_tokendir, setup.src_nbpe, setup.bpemode)
        train_sentencepiece(train_dir / setup.tgt_text, setup.tgt_tokendir, setup.tgt_nbpe, setup.bpemode,
                            lang_tags=setup.lang_tags)
    src_type, src_bpemodel = setup.src_tokenizer
    src_tokenize = tokenizer_for(src_type, src_bpemodel)
    tgt_tokenize = tokenizer_for("bpe", Path(setup.tgt_tokendir) / "bpe.model")
    src_vocab = len(read_token_list(Path(setup.src_tokendir) / "tokens.txt"))
    tgt_vocab = len(read_token_list(Path(setup.tgt_tokendir) / "tokens.txt"))
    input_layer = encoder_input_layer(encoder_config)
    logger.info("shape files for ESPnet's batch samplers")
    for data_dir in (train_dir, Path(valid_dir)):
        shapes = [write_speech_shape(data_dir), data_dir / setup.src_shape, data_dir / setup.tgt_shape]
        write_shape_file(data_dir / setup.src_text, shapes[1], src_tokenize, src_vocab)
        write_shape_file(data_dir / setup.tgt_text, shapes[2], tgt_tokenize, tgt_vocab)
        drop_ctc_infeasible(data_dir, data_dir / setup.src_text, src_tokenize, input_layer, shapes)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    atomic_write(path, "".join(f"{line}\n" for line in lines).encode("utf-8"))
