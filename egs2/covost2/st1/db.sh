# Where the corpora are; an environment variable of the same name overrides each.
# CoVoST 2 translations, one tsv per direction: download
#   https://dl.fbaipublicfiles.com/covost/covost_v2.<src>_<tgt>.tsv.tar.gz (see github.com/facebookresearch/covost)
# and extract it here, so that ${COVOST2}/covost_v2.<src>_<tgt>.tsv exists.
COVOST2=${COVOST2:-downloads/covost2}
# Common Voice v4 (cv-corpus-4-2019-12-10, the release CoVoST 2 is built on), from Common Voice's
# dataset downloads: extract the source language's archive so that ${COMMONVOICE}/<src>/validated.tsv
# and ${COMMONVOICE}/<src>/clips/ exist (En->X needs only en/).
COMMONVOICE=${COMMONVOICE:-downloads/commonvoice}
