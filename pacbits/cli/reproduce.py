"""``pacbits reproduce EXPERIMENT``: rerun one of the paper's experiments.

Each experiment is a module with ``add_arguments(parser)`` and ``run(args) -> int``;
adding one is one line in :data:`EXPERIMENTS`. Every experiment gets the shared
``--out``, ``--seed``, ``--data`` and ``--json`` options.
"""
from __future__ import annotations

import importlib

from ._common import add_data, add_json, add_out, add_seed

#: experiment name -> module; imported when the parser is built, not when this module is
EXPERIMENTS = {
    "lenet5": "pacbits.experiments.lenet5",
    "randomization": "pacbits.experiments.randomization",
    "subspace": "pacbits.experiments.subspace",
}


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="rerun one of the paper's experiments",
                       description="Rerun one of the paper's experiments and write its figures and tables.")
    experiments = p.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    for name, module_name in EXPERIMENTS.items():
        module = importlib.import_module(module_name)
        summary = (module.__doc__ or name).strip().splitlines()[0]
        q = experiments.add_parser(name, help=summary, description=summary)
        add_out(q, f"out/{name}")
        add_seed(q)
        add_data(q)
        add_json(q)
        module.add_arguments(q)
        q.set_defaults(func=module.run)
