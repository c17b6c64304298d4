"""ctcot: pre-training for speech translation with CTC and optimal transport."""
from setuptools import find_packages, setup

setup(
    name="ctcot",
    version="0.1.0",
    description="CTC + optimal-transport pre-training for speech translation, on ESPnet's trainer",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["ctcot", "ctcot.*"]),
    python_requires=">=3.10",
    # torch and espnet are installed by tools/setup_env.sh (see there why not here).
    install_requires=["pyyaml", "kaldiio", "sentencepiece", "sacrebleu", "tqdm"],
    extras_require={"test": ["pytest", "geomloss", "pot"]},
)
