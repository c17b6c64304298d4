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
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Sequence, Union

import sentencepiece as spm

from ctcot import ExternalProgramError
from ctcot.data_dir import atomic_write, read_kv

__all__ = [
    "SPECIAL_FIRST", "SPECIAL_LAST", "LANG_TAG", "lang_tag", "lang_tags_of", "strip_lang_tag", "train_sentencepiece",
    "phonemize", "phonemize_text_file", "phoneme_inventory",
    "write_token_list", "read_token_list", "sos_eos_index", "tokenizer_for", "write_shape_file",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]
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
    tokens = Path(path).read_text(encoding="utf-8").splitlines()
    if not tokens or tokens[0] != "<blank>" or tokens[-1] != "<sos/eos>":
        raise ValueError(f"{path}: not an ESPnet token list (must start with <blank> and end with <sos/eos>)")
    return tokens


def lang_tags_of(sentences: Sequence[str], text_file: PathLike) -> List[str]:
    """The target-language tags (``<2de>``) that begin every sentence of a multilingual text file."""
    tags = set()
    for n, sentence in enumerate(sentences, 1):
        match = LANG_TAG.match(sentence)
        if not match:
            raise ValueError(f"{text_file}: transcript {n} ({sentence[:40]!r}) does not begin with a "
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
        raise ValueError(f"{text_file}: no transcripts to train a SentencePiece model on")
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
            raise ValueError(f"sentence {start + next(i for i, s in enumerate(chunk) if not s)}: empty")
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
    raise ValueError(f"token_type {token_type!r}: expected 'bpe' or 'word'")


def write_shape_file(text_file: PathLike, output: PathLike, tokenize: Callable[[str], List[str]],
                     vocab_size: int) -> Dict[str, int]:
    """Write ``<utt> <num_tokens>,<vocab_size>`` for every transcript; return the lengths."""
    lengths = {utt: len(tokenize(text)) for utt, text in read_kv(text_file).items()}
    _write_lines(Path(output), [f"{utt} {n},{vocab_size}" for utt, n in lengths.items()])
    return lengths


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    atomic_write(path, "".join(f"{line}\n" for line in lines).encode("utf-8"))
