"""Corpus preparation: each module writes Kaldi/ESPnet-style data directories for one corpus."""
