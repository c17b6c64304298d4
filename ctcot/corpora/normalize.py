"""Text normalisation of the speech-translation corpora, as ESPnet's MuST-C and CoVoST-2 recipes do.

Every transcript and translation gets three variants, written as ``text.<case>.<lang>``:

- ``tc``: true case with Moses punctuation normalisation (``normalize-punctuation.perl -l <lang>``,
  here sacremoses' port of it), e.g. typographic quotes become ``"``;
- ``lc``: ``tc`` lower-cased;
- ``lc.rm``: ``lc`` without punctuation (apostrophes are kept; other punctuation is deleted, not
  replaced by a space, as ESPnet's ``remove_punctuation.pl`` does: "ill-disposed" becomes
  "illdisposed").

Unlike ESPnet, the variants are not Moses-tokenised: references stay detokenised for sacreBLEU,
and SentencePiece needs no pre-tokenisation.
"""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from typing import Dict

__all__ = ["CASES", "normalize_punctuation", "remove_punctuation", "text_variants"]

CASES = ("tc", "lc", "lc.rm")
# Perl's [[:punct:]] on Unicode strings: punctuation (P*) plus these ASCII symbols.
_PERL_PUNCT_SYMBOLS = frozenset("$+<=>^`|~")
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=None)
def _normalizer(lang: str):
    from sacremoses import MosesPunctNormalizer

    return MosesPunctNormalizer(lang=lang)


def normalize_punctuation(line: str, lang: str) -> str:
    """Moses punctuation normalisation of one line, with runs of white space made single."""
    return _SPACES.sub(" ", _normalizer(lang).normalize(line)).strip()


@functools.lru_cache(maxsize=None)
def _punctuation_table() -> Dict[int, None]:
    """str.translate table deleting what remove_punctuation deletes (built once, ~0.3 s)."""
    return {code: None for code in range(sys.maxunicode + 1)
            if chr(code) != "'"
            and (chr(code) in _PERL_PUNCT_SYMBOLS or unicodedata.category(chr(code)).startswith("P"))}


def remove_punctuation(line: str) -> str:
    """Delete punctuation except apostrophes, then squeeze white space."""
    return _SPACES.sub(" ", line.translate(_punctuation_table())).strip()


def text_variants(line: str, lang: str) -> Dict[str, str]:
    """The ``tc``, ``lc`` and ``lc.rm`` variants of one transcript or translation line."""
    tc = normalize_punctuation(line, lang)
    lc = tc.lower()
    return {"tc": tc, "lc": lc, "lc.rm": remove_punctuation(lc)}
