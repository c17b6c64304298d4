"""Translate audio files with a packed ST model (``exp/st_<tag>/<tag>_packed.zip``, st.sh stage 11).

The archive holds the model, its config (with the global CMVN statistics and the SentencePiece
model it names) and the recipe's decoding options (``decode.yaml``, stage 11's copy of st.sh's
``inference_config``). Each file is read with libsndfile (wav, flac, mp3, ogg, ...), averaged to
mono, resampled to the model's 16 kHz, turned into the fbank features of st.sh's stage 3
(:func:`ctcot.features.compute_fbank`, as many mel bins as the model's input), and decoded in
batches (:class:`ctcot.st_inference.BatchSpeech2Text`); each batch's translations are given as soon
as it is decoded. A file that cannot be used (missing, a directory, empty, unreadable, shorter than
a frame, longer than ``max_seconds``, or too long for the memory its encoder's self-attention would
need) gets an error naming it; the other files are still translated.
"""
from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import soundfile
import yaml

from ctcot import InputError
from ctcot.features import FbankConfig, audio_file_problem, compute_fbank, resample_audio
from ctcot.fileio import PathLike

__all__ = ["Translation", "Translator", "DECODE_OPTIONS", "attention_bytes", "translate_files"]

logger = logging.getLogger(__name__)

# Options of the decoding config (st.sh's inference_config) that batched decoding uses, and their
# defaults when the archive has no such config: ESPnet's Speech2Text defaults, beam 5 as st.sh's.
DECODE_OPTIONS = {"beam_size": 5, "penalty": 0.0, "maxlenratio": 0.0, "minlenratio": 0.0, "ctc_weight": 0.0}
FRAMES_PER_SECOND = 100  # the fbank's 10 ms shift
# The attention scores of one encoder layer exist about this many times at once in inference
# (scores, softmax, masked copy): calibrated on one report, 10 min of audio took 11 GB with 4 heads (estimate 10.8).
_ATTENTION_COPIES = 3


@dataclass
class Translation:
    """The outcome for one file: its translation, or why there is none."""

    path: str
    text: Optional[str] = None
    error: Optional[str] = None


def attention_bytes(seconds: float, heads: int, subsampling: int = 4) -> int:
    """Peak memory (bytes) of the encoder's self-attention over ``seconds`` of audio: ``heads`` float32
    maps of (T/subsampling)² entries, T = 100 frames per second, :data:`_ATTENTION_COPIES` at once. It
    grows with the square of the length; the rest of decoding grows linearly."""
    frames = int(seconds * FRAMES_PER_SECOND) // subsampling
    return _ATTENTION_COPIES * heads * frames * frames * 4


def _available_bytes() -> Optional[int]:
    """MemAvailable of /proc/meminfo (Linux), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _decode_config(unpacked: Path) -> Dict:
    configs = sorted(unpacked.rglob("decode.yaml"))
    if len(configs) != 1:
        logger.warning(f"the archive has {len(configs)} decode.yaml files: decoding with {DECODE_OPTIONS}")
        return dict(DECODE_OPTIONS)
    options = yaml.safe_load(configs[0].read_text()) or {}
    return {key: options.get(key, default) for key, default in DECODE_OPTIONS.items()}


class Translator:
    """A packed ESPnet ST model, ready to translate audio. Use it in a ``with`` block (or call
    :meth:`close`) to remove its unpacked files at once.

    Args:
        model_zip: stage 11's archive.
        device: torch device.
        tgt_lang_tag: for a multilingual model, the target-language tag every translation starts
            with (``<2de>``), as st.sh's decoding forces it.
        max_seconds: longer audio is refused.
        max_memory_gb: audio whose encoder self-attention (:func:`attention_bytes`) would need more
            is refused, with the longest length that fits. Default: half the memory available now.
        batch_bins: at most this many padded feature frames (100 per second) per decoding batch.
        **decode_options: override the archive's decoding options (:data:`DECODE_OPTIONS`).

    Raises:
        FileNotFoundError: ``model_zip`` does not exist.
        ValueError: it is a directory, not a complete packed model, or an option is unknown.
    """

    def __init__(self, model_zip: PathLike, *, device: str = "cpu", tgt_lang_tag: Optional[str] = None,
                 max_seconds: float = 60.0, max_memory_gb: Optional[float] = None, batch_bins: int = 20000,
                 **decode_options):
        from espnet2.main_funcs.pack_funcs import unpack

        from ctcot.st_inference import BatchSpeech2Text  # imports ESPnet: not before a translator is made

        unknown = set(decode_options) - set(DECODE_OPTIONS)
        if unknown:
            raise InputError(f"unknown decoding options {sorted(unknown)}: expected some of {sorted(DECODE_OPTIONS)}")
        if not os.path.exists(model_zip):
            raise FileNotFoundError(f"{model_zip} does not exist (st.sh stage 11 writes exp/st_<tag>/<tag>_packed.zip)")
        if os.path.isdir(model_zip):
            raise InputError(f"{model_zip} is a directory: --model is stage 11's packed archive, "
                             "exp/st_<tag>/<tag>_packed.zip")
        if max_memory_gb is None:
            available = _available_bytes()
            max_memory_gb = available / 2 / 1e9 if available else 8.0
        # Kept while the translator lives: the SentencePiece model is loaded on first use.
        self._unpacked = tempfile.TemporaryDirectory(prefix="ctcot_translate_")
        try:
            # Absolute paths: unpack rewrites the config's paths (CMVN statistics, BPE model) to them.
            files = unpack(model_zip, self._unpacked.name)
            options = {**_decode_config(Path(self._unpacked.name)), **decode_options}
            self.speech2text = BatchSpeech2Text(files["st_train_config"], files["st_model_file"], device=device,
                                                batch_bins=batch_bins, tgt_lang_tag=tgt_lang_tag, **options)
        except Exception as error:  # a truncated or foreign archive fails in zipfile, yaml, torch.load, ...
            self.close()
            raise InputError(f"{model_zip} is not a complete packed ST model ({type(error).__name__}: {error}); "
                             "pack it again with st.sh's stage 11") from error
        self.fbank = FbankConfig(num_mel_bins=self.speech2text.input_size)
        self.max_seconds = max_seconds
        self.max_memory_bytes = max_memory_gb * 1e9
        self.heads = self._attention_heads()

    def _attention_heads(self) -> int:
        from espnet.nets.pytorch_backend.transformer.attention import MultiHeadedAttention

        heads = [m.h for m in self.speech2text.model.encoder.modules() if isinstance(m, MultiHeadedAttention)]
        return max(heads, default=1)

    def close(self) -> None:
        """Remove the unpacked archive."""
        self._unpacked.cleanup()

    def __enter__(self) -> "Translator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_length(self, path: PathLike, seconds: float) -> None:
        if seconds > self.max_seconds:
            raise InputError(f"{path}: {seconds:.1f} s is longer than {self.max_seconds:g} s (--max_seconds); "
                             f"cut it into shorter pieces")
        need = attention_bytes(seconds, self.heads)
        if need > self.max_memory_bytes:
            fits = (self.max_memory_bytes / (_ATTENTION_COPIES * self.heads * 4)) ** 0.5 * 4 / FRAMES_PER_SECOND
            raise InputError(f"{path}: {seconds:.1f} s would need about {need / 1e9:.1f} GB for the encoder's "
                             f"self-attention, over the limit of {self.max_memory_bytes / 1e9:.1f} GB "
                             f"(--max_memory_gb); cut it into pieces of at most {int(fits)} s")

    def features(self, path: PathLike) -> np.ndarray:
        """(frames, mel bins) features of an audio file, as st.sh's stage 3 computes them.

        Raises:
            ValueError: a missing, empty, unreadable, too short or too long file (the message names it).
        """
        problem = audio_file_problem(path)
        if problem is not None:
            raise InputError(f"{path}: {problem}")
        try:
            info = soundfile.info(str(path))
        except Exception as error:  # soundfile raises several types for undecodable files
            raise InputError(f"{path}: cannot read it as audio ({error})") from None
        length_known = info.frames > 0  # refuse what would not fit in memory before reading it
        if length_known:
            self._check_length(path, info.frames / info.samplerate)
        try:
            audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        except Exception as error:
            raise InputError(f"{path}: cannot read it as audio ({error})") from None
        audio = audio.mean(axis=1)  # (samples,): channels averaged
        if len(audio) == 0:
            raise InputError(f"{path}: no samples")
        if not length_known:
            self._check_length(path, len(audio) / rate)
        if rate != self.fbank.sample_rate:
            audio = resample_audio(audio, rate, self.fbank.sample_rate)
        try:
            return compute_fbank(audio, self.fbank.sample_rate, self.fbank)
        except ValueError as error:
            raise InputError(f"{path}: {error}") from None

    def translate_iter(self, paths: Sequence[PathLike]) -> Iterator[Translation]:
        """One :class:`Translation` per path, in order, each as soon as it is known: files are decoded
        in batches of consecutive files of at most ``batch_bins`` frames in all."""
        pending: List[Translation] = []  # in order; the usable ones wait for their batch
        batch: List[Translation] = []
        feats: List[np.ndarray] = []

        def decode() -> None:
            for result, nbest in zip(batch, self.speech2text(feats)):
                if nbest:
                    result.text = nbest[0][0]
                else:
                    result.error = f"{result.path}: no translation ended (beam search gave no hypothesis)"
            batch.clear()
            feats.clear()

        for path in paths:
            result = Translation(str(path))
            try:
                matrix = self.features(result.path)
            except ValueError as error:
                result.error = str(error)
            else:
                if feats and sum(map(len, feats)) + len(matrix) > self.speech2text.batch_bins:
                    decode()
                batch.append(result)
                feats.append(matrix)
            pending.append(result)
            while pending and all(pending[0] is not waiting for waiting in batch):
                yield pending.pop(0)
        decode()
        yield from pending

    def translate(self, paths: Sequence[PathLike]) -> List[Translation]:
        """One :class:`Translation` per path, in order."""
        return list(self.translate_iter(paths))


def translate_files(model_zip: PathLike, paths: Sequence[PathLike], **options) -> List[Translation]:
    """Translate audio files with a packed model (:class:`Translator`'s options)."""
    with Translator(model_zip, **options) as translator:
        return translator.translate(paths)
