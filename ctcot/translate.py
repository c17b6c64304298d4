"""Translate audio files with a packed ST model (``exp/st_<tag>/<tag>_packed.zip``, st.sh stage 11).

The archive holds the model, its config (with the global CMVN statistics and the SentencePiece
model it names) and the recipe's decoding options (``decode.yaml``, stage 11's copy of st.sh's
``inference_config``). Each file is read with
libsndfile (wav, flac, mp3, ogg, ...), averaged to mono, resampled to the model's 16 kHz, turned
into the fbank features of st.sh's stage 3 (:func:`ctcot.features.compute_fbank`, as many mel bins
as the model's input), and decoded in batches (:class:`ctcot.st_inference.BatchSpeech2Text`).
A file that cannot be used (unreadable, empty, shorter than a frame, longer than ``max_seconds``)
gets an error naming it; the other files are still translated.
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import soundfile
import yaml

from ctcot.features import FbankConfig, compute_fbank, resample_audio

__all__ = ["Translation", "Translator", "DECODE_OPTIONS", "translate_files"]

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
# Options of the decoding config (st.sh's inference_config) that batched decoding uses, and their
# defaults when the archive has no such config: ESPnet's Speech2Text defaults, beam 5 as st.sh's.
DECODE_OPTIONS = {"beam_size": 5, "penalty": 0.0, "maxlenratio": 0.0, "minlenratio": 0.0, "ctc_weight": 0.0}


@dataclass
class Translation:
    """The outcome for one file: its translation, or why there is none."""

    path: str
    text: Optional[str] = None
    error: Optional[str] = None


def _decode_config(unpacked: Path) -> Dict:
    configs = sorted(unpacked.rglob("decode.yaml"))
    if len(configs) != 1:
        logger.warning(f"the archive has {len(configs)} decode.yaml files: decoding with {DECODE_OPTIONS}")
        return dict(DECODE_OPTIONS)
    options = yaml.safe_load(configs[0].read_text()) or {}
    return {key: options.get(key, default) for key, default in DECODE_OPTIONS.items()}


class Translator:
    """A packed ESPnet ST model, ready to translate audio.

    Args:
        model_zip: stage 11's archive.
        device: torch device.
        tgt_lang_tag: for a multilingual model, the target-language tag every translation starts
            with (``<2de>``), as st.sh's decoding forces it.
        max_seconds: longer audio is refused (its attention costs grow with the square of its length).
        batch_bins: at most this many padded feature frames (100 per second) per decoding batch.
        **decode_options: override the archive's decoding options (:data:`DECODE_OPTIONS`).
    """

    def __init__(self, model_zip: PathLike, *, device: str = "cpu", tgt_lang_tag: Optional[str] = None,
                 max_seconds: float = 60.0, batch_bins: int = 20000, **decode_options):
        from espnet2.main_funcs.pack_funcs import unpack

        from ctcot.st_inference import BatchSpeech2Text  # imports ESPnet: not before a translator is made

        unknown = set(decode_options) - set(DECODE_OPTIONS)
        if unknown:
            raise ValueError(f"unknown decoding options {sorted(unknown)}: expected some of {sorted(DECODE_OPTIONS)}")
        if not Path(model_zip).is_file():
            raise FileNotFoundError(f"{model_zip} does not exist (st.sh stage 11 writes exp/st_<tag>/<tag>_packed.zip)")
        # Kept while the translator lives: the SentencePiece model is loaded on first use.
        self._unpacked = tempfile.TemporaryDirectory(prefix="ctcot_translate_")
        # Absolute paths: unpack rewrites the config's paths (CMVN statistics, BPE model) to them.
        files = unpack(model_zip, self._unpacked.name)
        options = {**_decode_config(Path(self._unpacked.name)), **decode_options}
        self.speech2text = BatchSpeech2Text(files["st_train_config"], files["st_model_file"], device=device,
                                            batch_bins=batch_bins, tgt_lang_tag=tgt_lang_tag, **options)
        self.fbank = FbankConfig(num_mel_bins=self.speech2text.input_size)
        self.max_seconds = max_seconds

    def features(self, path: PathLike) -> np.ndarray:
        """(frames, mel bins) features of an audio file, as st.sh's stage 3 computes them.

        Raises:
            ValueError: unreadable, empty, too short or too long audio (the message names the file).
        """
        try:
            audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        except Exception as error:  # soundfile raises several types for missing or undecodable files
            raise ValueError(f"{path}: cannot read it as audio ({error})") from None
        audio = audio.mean(axis=1)  # (samples,): channels averaged
        if len(audio) == 0:
            raise ValueError(f"{path}: no samples")
        seconds = len(audio) / rate
        if seconds > self.max_seconds:
            raise ValueError(f"{path}: {seconds:.1f} s is longer than {self.max_seconds:g} s (--max_seconds); "
                             f"cut it into shorter pieces")
        if rate != self.fbank.sample_rate:
            audio = resample_audio(audio, rate, self.fbank.sample_rate)
        try:
            return compute_fbank(audio, self.fbank.sample_rate, self.fbank)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None

    def translate(self, paths: Sequence[PathLike]) -> List[Translation]:
        """One :class:`Translation` per path, in order."""
        results = [Translation(str(path)) for path in paths]
        usable, feats = [], []
        for result in results:
            try:
                feats.append(self.features(result.path))
                usable.append(result)
            except ValueError as error:
                result.error = str(error)
        for result, nbest in zip(usable, self.speech2text(feats)):
            if nbest:
                result.text = nbest[0][0]
            else:
                result.error = f"{result.path}: no translation ended (beam search gave no hypothesis)"
        return results


def translate_files(model_zip: PathLike, paths: Sequence[PathLike], **options) -> List[Translation]:
    """Translate audio files with a packed model (:class:`Translator`'s options)."""
    return Translator(model_zip, **options).translate(paths)
