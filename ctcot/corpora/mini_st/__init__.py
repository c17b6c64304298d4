"""mini_st: a small, synthetic English→German speech-translation corpus, built offline.

The text comes from an embedded grammar (``grammar``) over a lexicon (``lexicon``) of English
words with their German forms. Its German is exact and not word for word: gender and case
agreement (``den großen Hund``, ``einem Kind``, weak nouns such as ``den Jungen``), adjective
declension, verb second after a fronted adverb, verb final after ``weil``, the verb bracket
(perfect tense, separable verbs such as ``macht … auf``), ``nicht`` / ``kein`` negation,
questions. The speech (``speech``) is the English side read by three synthesisers (espeak-ng,
flite, festival) in voices of several accents, speeds and pitches (one "speaker" each), resampled to
16 kHz mono 16-bit PCM; the test set's voices are never heard in train or dev (``VOICE_SETS``:
``espeak``, espeak-ng's voices only, the default and the demo's, or ``many``, three engines). ``acoustics`` optionally
adds a room, noise and small tempo changes; ``figure`` draws the voices' spectrograms. ``prepare``
writes the Kaldi data directories.

Two difficulty levels (``LEVELS``): ``easy``, the demo's, learnable in minutes on 2 CPU cores,
and ``hard``, the whole grammar (wh-questions, "that", coordinate and other subordinate clauses,
modal verbs, the future, a lexicon of several hundred words), for GPUs.

Sample records (``default`` size, seed 0) are in egs2/mini_st/st1/README.md.

Usage:
    python -m ctcot.bin.prepare_mini_st --output_dir data --level easy --size default --seed 0 --nj 2
"""
from ctcot.corpora.mini_st.grammar import *  # noqa: F401,F403
from ctcot.corpora.mini_st.grammar import __all__ as _grammar_all
from ctcot.corpora.mini_st.lexicon import *  # noqa: F401,F403
from ctcot.corpora.mini_st.lexicon import __all__ as _lexicon_all
from ctcot.corpora.mini_st.prepare import *  # noqa: F401,F403
from ctcot.corpora.mini_st.prepare import __all__ as _prepare_all
from ctcot.corpora.mini_st.speech import *  # noqa: F401,F403
from ctcot.corpora.mini_st.speech import __all__ as _speech_all

__all__ = [*_lexicon_all, *_grammar_all, *_speech_all, *_prepare_all]
