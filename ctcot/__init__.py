"""ctcot: CTC + optimal-transport pre-training for speech translation."""

__version__ = "0.1.0"


class InputError(ValueError):
    """Input ctcot cannot use (a file, an option, a model): the message names it and what to do.
    ctcot's programs report it in one line (exit status 1); any other exception is a bug and keeps
    its traceback. A ``ValueError``, as Python's own bad-value errors."""


class ExternalProgramError(OSError):
    """A program ctcot runs (espeak-ng, ...) failed; the message names the command and its error.
    An ``OSError``, which ctcot's programs report in one line, as the system's own (a missing file,
    a full disk, a permission)."""
