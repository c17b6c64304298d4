"""ctcot: CTC + optimal-transport pre-training for speech translation."""

__version__ = "0.1.0"


class ExternalProgramError(OSError):
    """A program ctcot runs (espeak-ng, ...) failed; the message names the command and its error.
    An ``OSError``, so that ctcot's programs report it in one line like other bad input."""
