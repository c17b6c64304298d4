# Where the corpora are. MuST-C (https://mt.fbk.eu/must-c/) is not downloaded by the recipe:
# unpack the releases you use (MUSTC_v1.0_en-de.tar.gz, ...) so that ${MUST_C}/en-de/data/train/ exists.
# An exported MUST_C wins over this default.
MUST_C=${MUST_C:-downloads/must_c}
