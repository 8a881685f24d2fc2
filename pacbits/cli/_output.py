"""Where the command line's output goes.

Results go to stdout, status and progress to stderr. Under ``--json`` stdout holds
exactly one JSON document (:func:`pacbits.cli._common.print_json` writes it): anything
else a command prints to stdout goes to stderr instead. ``--quiet`` silences status
and progress bars (``TQDM_DISABLE``), not results, warnings or errors. Warnings
(a skipped plugin, say) are one line each: ``pacbits: warning: ...``.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings

_json_out = None


def json_stream():
    """The stream a JSON result goes to: the real stdout."""
    return _json_out or sys.stdout


@contextlib.contextmanager
def routed(as_json: bool, quiet: bool):
    """Route stdout, stderr, warnings and progress bars for one command; yields the real stderr."""
    global _json_out
    out, err, tqdm_env = sys.stdout, sys.stderr, os.environ.get("TQDM_DISABLE")

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"pacbits: warning: {' '.join(str(message).split())}", file=err)

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            if as_json:
                _json_out, sys.stdout = out, err
            if quiet:
                os.environ["TQDM_DISABLE"] = "1"
                sys.stderr = io.StringIO()
                if as_json:
                    sys.stdout = sys.stderr
            yield err
        finally:
            sys.stdout, sys.stderr, _json_out = out, err, None
            if tqdm_env is None:
                os.environ.pop("TQDM_DISABLE", None)
            else:
                os.environ["TQDM_DISABLE"] = tqdm_env
