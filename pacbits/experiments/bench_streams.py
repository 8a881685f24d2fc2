"""Given bitstreams as ``pacbits bench`` candidates, ranked beside its codecs (docs/bench.md).

A subspace stream (θ = θ₀ + P·w, docs/subspace.md) cannot be produced from the bench's
trained network: it needs its own training. So ``--stream FILE.pbits`` adds a finished
stream as one more of the K candidates. Its bits are the file's, ``L = 8·len(data)``
(:func:`pacbits.core.inspect` gives the parts); its network is the decoded one, in the
model its parametrization names (``subspace``) or the bench's ``--model`` (identity).

A stream whose θ₀ is a transfer prior names it by the SHA-256 of its state_dict; it is
decoded with the ``--stream-prior`` of that hash, and its row says ``transfer prior``
(θ₀ was trained on another data set, named in ``PRIOR.pt.json`` when present).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from pacbits.core import CodecReport, ConfigError, PacbitsError, decompress, default_registry, inspect
from pacbits.core import container
from pacbits.core.codec import stream_parametrization
from pacbits.core.parametrization import Parametrization, state_dict_sha256
from pacbits.loading import load_model, load_state_dict


@dataclass
class Stream:
    """A decoded ``--stream``: its bytes, label, parametrization (None: identity), bits and network."""

    path: Path
    data: bytes = field(repr=False)
    label: str
    param: Parametrization | None
    report: CodecReport
    model: torch.nn.Module = field(repr=False)
    prior: str | None = None  # the transfer prior's label, None when θ₀ does not come from a prior

    @property
    def spec(self) -> dict:
        config = {"id": "identity"} if self.param is None else {"id": self.param.id, **self.param.get_config()}
        return {"stream": str(self.path), "parametrization": config, "prior": self.prior}


def load_streams(paths: list[Path], prior_paths: list[Path], model_ref: str, dataset: str) -> list[Stream]:
    """Read, decode and load every ``--stream``; a bad file or a missing or wrong prior is a one-line error."""
    if len(set(map(str, paths))) < len(paths):
        raise ConfigError("--stream: the same file is given twice")
    priors = {}
    for p in prior_paths:
        state = load_state_dict(p)
        priors[state_dict_sha256(state)] = p, state
    return [load_stream(Path(p), priors, model_ref, dataset) for p in paths]


def load_stream(path: Path, priors: dict, model_ref: str, dataset: str) -> Stream:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"--stream {path}: cannot read it ({e.strerror or e})") from None
    try:
        _, raw = container.read_stream(data)
        param = None if raw is None else stream_parametrization(default_registry(), raw)
        sha = getattr(param, "prior_sha256", None)
        prior_path, prior = priors.get(sha, (None, None))
        if sha and prior is None:
            given = "none was given" if not priors else f"no --stream-prior has it ({len(priors)} given)"
            raise ConfigError(f"its θ₀ is a transfer prior with state_dict SHA-256 {sha[:16]}…, and {given}: "
                              "pass it with --stream-prior FILE")
        state, report = decompress(data, prior=prior), inspect(data)
    except PacbitsError as e:
        raise ConfigError(f"--stream {path}: {e}") from None
    if param is None:
        model, kind, name = load_model(model_ref), "identity", model_ref
    else:
        from pacbits.plugins.subspace import model_factories

        factory = model_factories().get(getattr(param, "model", None))
        if factory is None:
            raise ConfigError(f"--stream {path}: bench builds subspace streams only, not parametrization {param.id!r}")
        model, kind, name = factory(), f"{param.id} d={param.d}", param.model
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ConfigError(f"--stream {path}: not a state_dict of model {name!r} ({' '.join(str(e).split())})") from None
    label = prior_label(path, prior_path, dataset) if prior_path else None
    return Stream(path, data, f"stream: {kind}{', ' + label if label else ''} ({path})", param, report, model, label)


def prior_label(stream: Path, prior: Path, dataset: str) -> str:
    """``transfer prior (θ₀ trained on X)``, X from ``PRIOR.pt.json`` (``reproduce subspace --write-prior``);
    a prior trained on the data set being ranked on is refused: it has seen the sample."""
    meta = Path(str(prior) + ".json")
    source = json.loads(meta.read_text()).get("dataset") if meta.is_file() else None
    if source == dataset:
        raise ConfigError(f"--stream {stream}: its prior {prior} was trained on {dataset}, the data set being ranked "
                          "on: a prior may not see the sample")
    return f"transfer prior (θ₀ trained on {source or 'a data set not named in ' + meta.name})"
