"""ctcot's programs, each run as ``python -m ctcot.bin.<name>`` (``--help`` for its options)."""
import logging
from typing import Callable

LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"  # ESPnet's


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


def run(task: Callable[[], None]) -> int:
    """Run a program's work with ESPnet-style logging; return its exit status.

    Bad input (``ValueError``, which ``DataDirError`` is; ``OSError``; ``RuntimeError``) is
    logged as one error, without a traceback, and gives status 1.
    """
    setup_logging()
    try:
        task()
    except (ValueError, OSError, RuntimeError) as err:
        logging.error("%s", err)
        return 1
    return 0
