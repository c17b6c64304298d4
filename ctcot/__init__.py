"""ctcot: CTC + optimal-transport pre-training for speech translation."""

__version__ = "0.1.0"
