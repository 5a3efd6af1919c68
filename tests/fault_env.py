"""Environment for a process a test starts with fault injection (tests/faults/sitecustomize.py)."""

from __future__ import annotations

import os
from pathlib import Path

FAULTS = Path(__file__).resolve().parent / "faults"


def fault_env(env: dict, **faults) -> dict:
    out = dict(env, **{k: str(v) for k, v in faults.items()})
    out["PYTHONPATH"] = os.pathsep.join([str(FAULTS), *filter(None, [env.get("PYTHONPATH")])])
    return out
