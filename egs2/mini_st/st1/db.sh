# Where the corpora are. The mini corpus is generated (local/data.sh): nothing to download.
MINI_ST=${MINI_ST:-downloads/mini_st}
