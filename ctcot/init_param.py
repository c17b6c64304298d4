"""The models a training starts from (ESPnet's ``--init_param``), and models from other recipes:
does a checkpoint fit where ``--init_param`` puts it?

ESPnet's trainers initialise parts of a model from other checkpoints with ``--init_param
<file>:<src_key>:<dst_key>[:<excludes>]`` (``espnet2.torch_utils.load_pretrained_model``). They copy
what they find: a tensor of the new part that the checkpoint lacks keeps its random initialisation
without a word (an MT decoder of 4 layers in an ST decoder of 6), a tensor of another shape stops
the training with a size-mismatch traceback, and a token embedding learned for another token list
loads silently when the two lists have the same size. st.sh checks both before every training
that loads another model, above all one trained in another recipe (``--mt_model``,
``--pretrain_model``):

- :func:`init_param_problems`: every tensor of the destination part gets one of the same shape
  from the checkpoint, and the checkpoint's part has nothing more;
- :func:`token_list_problem`: the token list a model was trained with (in its ``config.yaml``)
  equals the one the new model uses.

A model from another recipe also names files by paths relative to that recipe (its feature
statistics, its SentencePiece model): :func:`localize_config` makes them absolute, so the model can
be built from any directory.
"""
import functools
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import yaml

from ctcot import InputError
from ctcot.fileio import PathLike

__all__ = ["parse_init_param", "init_param_problems", "token_list_problem", "token_list_of", "localize_config"]

_EXAMPLES = 3  # tensors named per kind of problem


def parse_init_param(spec: str) -> Tuple[str, Optional[str], Optional[str], List[str]]:
    """``<file>:<src_key>:<dst_key>:<excludes>`` split as ESPnet splits it: the file, the source and
    destination prefixes (None: the whole model) and the excluded source prefixes."""
    fields = spec.split(":", 4)
    if len(fields) > 4:  # ESPnet fails on it with a bare unpacking error
        raise InputError(f"--init_param {spec}: expected <file>:<src_key>:<dst_key>:<excludes>, at most 4 fields")
    path, src_key, dst_key, excludes = (fields + [None] * 3)[:4]
    return path, src_key or None, dst_key or None, excludes.split(",") if excludes else []


@functools.lru_cache(maxsize=1)  # st.sh gives a checkpoint's parts one after another: load it once
def _checkpoint(path: str) -> Dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    return state["module"] if "module" in state else state


def _source_state(path: str, src_key: Optional[str], excludes: Sequence[str]) -> Dict[str, torch.Tensor]:
    """The checkpoint's tensors as ``load_pretrained_model`` selects them (its prefix matching included)."""
    state = _checkpoint(path)
    state = {k: v for k, v in state.items() if not any(k.startswith(e) for e in excludes)}
    if src_key is not None:
        state = {k[len(src_key) + 1 :]: v for k, v in state.items() if k.startswith(src_key)}
    return state


def _examples(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_EXAMPLES])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _EXAMPLES else "")


def init_param_problems(model: torch.nn.Module, spec: str) -> List[str]:
    """What would go wrong loading ``spec`` (an ``--init_param`` value) into ``model``: one line per
    kind of problem (tensors left at their random values, tensors of other shapes, tensors the
    destination lacks), each naming the tensors; empty when the part fits exactly."""
    path, src_key, dst_key, excludes = parse_init_param(spec)
    if not Path(path).is_file():
        return [f"{path} does not exist"]
    target = model
    for name in (dst_key or "").split("."):
        if name:
            if not hasattr(target, name):
                return [f"the model has no {dst_key}"]
            target = getattr(target, name)
    wanted = target.state_dict()
    found = _source_state(path, src_key, excludes)
    where = f"{path}:{src_key or ''} -> {dst_key or 'the model'}"
    if not found:
        return [f"{where}: the checkpoint has no tensor under {src_key!r}"]
    problems = []
    missing = [k for k in wanted if k not in found]
    if missing:
        problems.append(f"{where}: {len(missing)} tensor(s) would keep their random values: {_examples(missing)}")
    shapes = [f"{k} {tuple(found[k].shape)} vs {tuple(v.shape)}" for k, v in wanted.items()
              if k in found and found[k].shape != v.shape]
    if shapes:
        problems.append(f"{where}: other shapes (checkpoint vs model): {_examples(shapes)}")
    unexpected = [k for k in found if k not in wanted]
    if unexpected:
        problems.append(f"{where}: {len(unexpected)} tensor(s) have no place in the model: {_examples(unexpected)}")
    return problems


def token_list_of(source: Union[PathLike, Sequence[str]]) -> List[str]:
    """A token list given as ESPnet gives it (``--token_list``, ``config.yaml``): a file of one token
    per line, read as ESPnet reads it, or the list itself."""
    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8") as f:
            return [line.rstrip() for line in f]
    if isinstance(source, (tuple, list)):
        return list(source)
    raise InputError(f"a token list must be a file or a list, got {type(source).__name__}")


def token_list_problem(config: PathLike, key: str, token_list: PathLike) -> Optional[str]:
    """How the token list under ``key`` (``token_list`` or ``src_token_list``) of a model's
    ``config.yaml`` differs from ``token_list`` (a tokens.txt); None when they are equal."""
    with open(config, encoding="utf-8") as f:
        settings = yaml.safe_load(f) or {}
    if settings.get(key) is None:
        return f"{config} has no {key}"
    theirs, ours = token_list_of(settings[key]), token_list_of(token_list)
    if theirs == ours:
        return None
    first = next((i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b), min(len(theirs), len(ours)))
    at = lambda tokens: repr(tokens[first]) if first < len(tokens) else "(end)"  # noqa: E731
    return (f"the token lists differ: {config} {key} has {len(theirs)} tokens, {token_list} has {len(ours)}; "
            f"first difference at token {first}: {at(theirs)} vs {at(ours)}")


# The files an ESPnet config.yaml names (key paths); token lists are usually stored inline.
CONFIG_PATHS = (("normalize_conf", "stats_file"), ("bpemodel",), ("src_bpemodel",), ("token_list",),
                ("src_token_list",))


def localize_config(config: PathLike, output: PathLike) -> List[str]:
    """Copy a model's ``config.yaml`` to ``output`` with the relative paths of :data:`CONFIG_PATHS`
    made absolute: each resolved against the nearest directory above the config where it exists
    (the recipe directory the model was trained in, for ``exp/<name>/config.yaml``).

    Returns:
        The keys rewritten, e.g. ``["normalize_conf.stats_file"]``.

    Raises:
        ValueError: A relative path exists in no directory above the config.
    """
    config = Path(config)
    with open(config, encoding="utf-8") as f:
        settings = yaml.safe_load(f) or {}
    rewritten = []
    for keys in CONFIG_PATHS:
        holder = settings
        for key in keys[:-1]:
            holder = holder.get(key) if isinstance(holder, dict) else None
        value = holder.get(keys[-1]) if isinstance(holder, dict) else None
        if not isinstance(value, str) or value == "none" or Path(value).is_absolute():
            continue
        found = next((parent / value for parent in config.resolve().parents if (parent / value).exists()), None)
        if found is None:
            raise InputError(f"{config}: {'.'.join(keys)} is {value}, which exists in no directory above {config}")
        holder[keys[-1]] = str(found)
        rewritten.append(".".join(keys))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        yaml.safe_dump(settings, f, allow_unicode=True, sort_keys=False)
    return rewritten
