"""ctcot's pre-training as 2 data-parallel processes on CPU (gloo), through ESPnet's own distributed code.

ESPnet (espnet2/tasks/abs_task.py ``main``/``main_worker``, espnet2/train/distributed_utils.py,
espnet2/train/trainer.py) runs one process per rank when its ``--dist_*`` options or a launcher's
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) say so. On CPU
the processes must be started from outside: ``--ngpu 0 --multiprocessing_distributed true`` alone
runs one process (distributed_utils.py:151-159; ESPnet spawns one process per GPU only,
abs_task.py:1284-1345). The test starts the two command lines that ESPnet's own
``espnet2.bin.launch --host h1,h2 --ngpu 0`` runs over SSH (launch.py:185-204: ``--ngpu 0
--multiprocessing_distributed false --local_rank none --dist_rank R --dist_world_size 2
--dist_backend gloo``), as local processes meeting in a ``file://`` store. With
``CTCOT_TEST_TORCHRUN=1`` it also runs ``torchrun --standalone --nproc_per_node 2 ... --ngpu 0
--dist_backend gloo`` (ESPnet then reads torchrun's environment); that costs two more ESPnet
start-ups (~10 s of CPU each), so it is off by default.

The run is compared with a one-process run with the same global batch (``--batch_size 4``): both
ranks ran and saw world size 2; ESPnet logged ``[host:0/2]`` and loaded only half of the training
set on rank 0; each step's batch of 4 was split into two disjoint halves, one per rank, whose union
is the one-process run's batch at that step; only rank 0 wrote files; and the model after the epoch
(3 optimizer steps) equals the one-process model, so the ranks' gradients were averaged (one rank
training alone on its halves would differ at O(1) relative).

Why every utterance has the same length (3 three-letter words, 0.8 s): the default frontend's STFT
sees the zero padding at the end of a shorter utterance in a padded batch (espnet2/layers/stft.py),
so features depend on how a batch is split. (Unequal token counts are fine: CTCOTModel returns its
source tokens as ESPnet's batch weight, trainer.py:683-695, so ranks are combined per token as the
one-process loss is.)
Why SGD: Adam divides by sqrt(v), which turns float rounding in exactly-zero gradients (e.g. the
attention key biases, to which softmax is invariant) into lr-sized steps; SGD keeps the comparison
linear in the gradients.
"""
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml
from conftest import TINY_PRETRAIN_CONFIG, WORDS

THREE_LETTER_WORDS = sorted(w for w in WORDS if len(w) == 3)
NUM_SAMPLES = 12800  # 0.8 s at 16 kHz
NUM_TOKENS = 11  # 3 words of 3 characters and 2 <space>

# Runs ctcot.bin.ctcot_train with CTCOTModel.forward recording, per rank, the utterances of each
# call and (rank 0, first training call) the initial parameters. It calls the original forward.
RECORDING_TRAIN = r'''
import json, os, sys
import torch
from ctcot.espnet_model import CTCOTModel
from ctcot.bin.ctcot_train import main

record_dir = os.environ["CTCOT_RECORD_DIR"]
original_forward = CTCOTModel.forward


def forward(self, *args, **kwargs):
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    rank = torch.distributed.get_rank() if distributed else 0
    world_size = torch.distributed.get_world_size() if distributed else 1
    init = os.path.join(record_dir, "init.pth")
    if self.training and rank == 0 and not os.path.exists(init):
        torch.save({k: v.detach().clone() for k, v in self.state_dict().items()}, init)
    with open(os.path.join(record_dir, f"rank{rank}.jsonl"), "a") as f:
        f.write(json.dumps(dict(pid=os.getpid(), world_size=world_size, train=self.training,
                                utt_id=list(kwargs["utt_id"]))) + "\n")
    return original_forward(self, *args, **kwargs)


CTCOTModel.forward = forward
main(sys.argv[1:])
'''


def write_equal_corpus(root: Path, num_utts: int, seed: int) -> Path:
    """Kaldi-style dir like conftest.write_corpus, every utterance 0.8 s with 11 characters, and shape files."""
    rng = random.Random(seed)
    (root / "wav").mkdir(parents=True)
    scp, text = [], []
    for i in range(num_utts):
        utt = f"utt{seed}_{i:03d}"
        words = [rng.choice(THREE_LETTER_WORDS) for _ in range(3)]
        t = np.arange(NUM_SAMPLES) / 16000
        freq = 200 + 40 * (sum(map(ord, "".join(words))) % 10)
        noise = 0.01 * np.random.default_rng(1000 * seed + i).standard_normal(t.size)
        soundfile.write(root / "wav" / f"{utt}.wav", (0.3 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32),
                        16000, subtype="PCM_16")
        scp.append(f"{utt} {root / 'wav' / utt}.wav")
        text.append(f"{utt} {' '.join(words)}")
    keys = [line.split()[0] for line in scp]
    (root / "wav.scp").write_text("\n".join(scp) + "\n")
    (root / "text").write_text("\n".join(text) + "\n")
    (root / "speech_shape").write_text("".join(f"{k} {NUM_SAMPLES}\n" for k in keys))
    (root / "src_text_shape").write_text("".join(f"{k} {NUM_TOKENS}\n" for k in keys))
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist_corpus")
    train = write_equal_corpus(root / "train", 12, seed=1)
    dev = write_equal_corpus(root / "dev", 4, seed=2)
    tokens = root / "tokens.txt"
    chars = sorted(set("".join(THREE_LETTER_WORDS)))
    tokens.write_text("\n".join(["<blank>", "<unk>", "<space>", *chars, "<sos/eos>"]) + "\n")
    config = root / "pretrain.yaml"
    config.write_text(yaml.safe_dump({
        **TINY_PRETRAIN_CONFIG, "optim": "sgd", "optim_conf": {"lr": 1.0}, "scheduler": None,
        "num_att_plot": 0, "use_matplotlib": False, "use_tensorboard": False,
    }))
    script = root / "recording_train.py"
    script.write_text(RECORDING_TRAIN)
    args = [
        "--config", config, "--src_token_list", tokens, "--src_token_type", "char", "--batch_size", 4,
        "--train_data_path_and_name_and_type", f"{train}/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", f"{train}/text,src_text,text",
        "--valid_data_path_and_name_and_type", f"{dev}/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", f"{dev}/text,src_text,text",
        "--train_shape_file", train / "speech_shape", "--train_shape_file", train / "src_text_shape",
        "--valid_shape_file", dev / "speech_shape", "--valid_shape_file", dev / "src_text_shape",
        "--fold_length", 80000, "--fold_length", 150,
    ]
    return dict(root=root, script=script, args=[str(a) for a in args],
                train_keys=[line.split()[0] for line in (train / "wav.scp").read_text().splitlines()])


def clean_env(record_dir: Path) -> dict:
    """The environment without any launcher's variables (ESPnet reads WORLD_SIZE, RANK, ...)."""
    env = {k: v for k, v in os.environ.items() if k not in {
        "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "CUDA_VISIBLE_DEVICES"}}
    record_dir.mkdir(parents=True)
    return {**env, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1", "CTCOT_RECORD_DIR": str(record_dir)}


def start(cmd, env, log: Path):
    return subprocess.Popen(list(map(str, cmd)), env=env, cwd=log.parent, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def finish(processes, logs, timeout=300):
    deadline = time.monotonic() + timeout
    try:
        codes = [p.wait(timeout=max(1.0, deadline - time.monotonic())) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    texts = [log.read_text() for log in logs]
    for code, text, log in zip(codes, texts, logs):
        assert code == 0, f"{log.name} exited with {code}:\n{text[-4000:]}"
    return texts


def read_records(record_dir: Path, rank: int):
    lines = (record_dir / f"rank{rank}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def single_process(corpus):
    """The one-process run with the same global batch, started once, finished when first needed."""
    run = corpus["root"] / "single"
    env = clean_env(run / "record")
    log = run / "train.log"
    process = start([sys.executable, corpus["script"], *corpus["args"], "--ngpu", 0, "--output_dir", run / "exp"],
                    env, log)
    result = {}

    def get():
        if not result:
            finish([process], [log])
            result.update(run=run, records=read_records(run / "record", 0))
        return result

    yield get
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.parametrize("launcher", [
    "espnet_args",
    pytest.param("torchrun", marks=pytest.mark.skipif(
        os.environ.get("CTCOT_TEST_TORCHRUN") != "1", reason="set CTCOT_TEST_TORCHRUN=1 (two more ESPnet start-ups)")),
])
def test_two_gloo_processes_are_data_parallel(corpus, single_process, launcher, tmp_path):
    record = tmp_path / "record"
    env = clean_env(record)
    exp = tmp_path / "exp"
    if launcher == "espnet_args":
        # What espnet2.bin.launch --host h1,h2 --ngpu 0 runs on each host (launch.py:185-204), with a
        # file:// store instead of --master_port. Rank 1 gets its own --output_dir to show it writes nothing.
        common = ["--ngpu", 0, "--multiprocessing_distributed", "false", "--local_rank", "none",
                  "--dist_world_size", 2, "--dist_init_method", f"file://{tmp_path / 'dist_init'}",
                  "--dist_backend", "gloo"]
        logs = [tmp_path / f"rank{r}.log" for r in (0, 1)]
        processes = [
            start([sys.executable, corpus["script"], *corpus["args"], *common, "--dist_rank", r,
                   "--output_dir", exp if r == 0 else tmp_path / "exp_rank1"], env, logs[r])
            for r in (0, 1)
        ]
    else:
        logs = [tmp_path / "torchrun.log"]
        processes = [start([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", 2,
                            corpus["script"], *corpus["args"], "--ngpu", 0, "--dist_backend", "gloo",
                            "--output_dir", exp], env, logs[0])]
    texts = finish(processes, logs)
    reference = single_process()

    # ESPnet ran distributed with world size 2: rank 0 logs as [host:0/2] (abs_task.py:1358-1383),
    # its shard of the training set is half of it (abs_task.py:1891-1908), and it trained one epoch.
    log0 = texts[0]
    assert re.search(r"^\[[^\]\s:]+:0/2\] .*1epoch results: \[train\]", log0, re.M), log0[-3000:]
    assert re.search(r"only loading 6 keys from \S+/train/text", log0), log0[-3000:]
    assert not re.search(r"^\[[^\]\s:]+:1/2\] .* INFO: ", "\n".join(texts), re.M)  # rank 1 logs errors only

    # Both ranks ran, each in its own process, and saw world size 2.
    ranks = [read_records(record, r) for r in (0, 1)]
    for r, records in enumerate(ranks):
        assert records and {rec["world_size"] for rec in records} == {2}, r
    assert {rec["pid"] for rec in ranks[0]}.isdisjoint({rec["pid"] for rec in ranks[1]})

    # Each step's global batch of 4 was split into two disjoint halves, one per rank, equal to the
    # one-process run's batch at that step; the epoch covered the training set once.
    for train in (True, False):
        steps0, steps1, steps = ([rec["utt_id"] for rec in recs if rec["train"] is train]
                                 for recs in (*ranks, reference["records"]))
        assert len(steps0) == len(steps1) == len(steps) == (3 if train else 1)
        for half0, half1, whole in zip(steps0, steps1, steps):
            assert len(half0) == len(half1) == 2 and len(whole) == 4
            assert set(half0).isdisjoint(half1) and set(half0) | set(half1) == set(whole)
        if train:
            assert sorted(u for step in steps0 + steps1 for u in step) == sorted(corpus["train_keys"])

    # The checkpoint was written once, by rank 0.
    assert (exp / "1epoch.pth").is_file() and (exp / "valid.loss.best.pth").is_file()
    assert yaml.safe_load((exp / "config.yaml").read_text())["dist_backend"] == "gloo"
    if launcher == "espnet_args":
        assert not (tmp_path / "exp_rank1").exists()

    # Same initial model, and the same model after 3 SGD steps as the one-process run: the ranks'
    # gradients were averaged (DDP) into the gradient of the whole batch. Measured: error/update
    # 7e-7 (max 9e-7 absolute); with DistributedDataParallel replaced by the bare model, 0.65.
    init = torch.load(record / "init.pth", map_location="cpu")
    ref_init = torch.load(reference["run"] / "record" / "init.pth", map_location="cpu")
    ddp = torch.load(exp / "1epoch.pth", map_location="cpu")
    ref = torch.load(reference["run"] / "exp" / "1epoch.pth", map_location="cpu")
    assert ddp.keys() == ref.keys() == init.keys()
    names = [k for k in ref if ref[k].is_floating_point()]
    for k in names:
        torch.testing.assert_close(init[k], ref_init[k], rtol=0, atol=0)
    update = torch.cat([(ref[k] - init[k]).flatten() for k in names])
    error = torch.cat([(ddp[k] - ref[k]).flatten() for k in names])
    assert update.norm() > 1.0, update.norm()  # the model moved
    assert error.norm() < 1e-4 * update.norm(), (error.norm(), update.norm())
    for k in names:
        torch.testing.assert_close(ddp[k], ref[k], rtol=1e-4, atol=1e-5, msg=lambda m, k=k: f"{k}: {m}")
