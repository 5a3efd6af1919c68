"""Service-time distributions (hours of working time) and generators of form-field values.

Settings syntax (docs/SIMULATION.md):

* time: ``{"fixed": h}``, ``{"lognormal": {"median": h, "p90": h}}`` or ``{"lognormal": {"mu": m,
  "sigma": s}}`` (of ln hours), ``{"triangular": {"min": h, "mode": h, "max": h}}``,
  ``{"exponential": {"mean": h}}``, ``{"uniform": {"min": h, "max": h}}``;
* field: ``{"value": v}``, ``{"choice": [[v, weight], …]}``, ``{"uniform": [a, b]}`` (numbers),
  ``{"integer": [a, b]}``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

Z90 = 1.2815515655446004  # the standard normal's 90th percentile


class SettingsError(ValueError):
    """A bad settings file; ``path`` names the offending entry (``service.tasks.Task_X``)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _num(spec: dict, key: str, path: str, positive: bool = False) -> float:
    v = spec.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise SettingsError(f"{path}.{key}", "应为数字 / must be a number")
    if v < 0 or (positive and v == 0):
        raise SettingsError(f"{path}.{key}", "应为正数 / must be positive")
    return float(v)


@dataclass(frozen=True)
class Duration:
    """A distribution of hours; ``draw`` returns a non-negative number of hours."""

    kind: str
    a: float = 0.0
    b: float = 0.0
    c: float = 0.0

    def draw(self, rng: random.Random) -> float:
        k = self.kind
        if k == "fixed":
            return self.a
        if k == "lognormal":
            return rng.lognormvariate(self.a, self.b)
        if k == "triangular":
            return rng.triangular(self.a, self.c, self.b)
        if k == "exponential":
            return rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        return rng.uniform(self.a, self.b)

    @property
    def mean(self) -> float:
        k = self.kind
        if k == "fixed":
            return self.a
        if k == "lognormal":
            return math.exp(self.a + self.b**2 / 2)
        if k == "triangular":
            return (self.a + self.b + self.c) / 3
        if k == "exponential":
            return self.a
        return (self.a + self.b) / 2

    def as_dict(self) -> dict:
        k = self.kind
        if k == "fixed":
            return {"fixed": self.a}
        if k == "lognormal":
            return {"lognormal": {"mu": self.a, "sigma": self.b}}
        if k == "triangular":
            return {"triangular": {"min": self.a, "mode": self.c, "max": self.b}}
        if k == "exponential":
            return {"exponential": {"mean": self.a}}
        return {"uniform": {"min": self.a, "max": self.b}}


def parse_duration(spec: Any, path: str) -> Duration:
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        spec = {"fixed": spec}
    if not isinstance(spec, dict) or len(spec) != 1:
        raise SettingsError(
            path, "应为 {分布: 参数} 之一 / must be one of {fixed|lognormal|triangular|exponential|uniform: …}"
        )
    ((kind, p),) = spec.items()
    sub = f"{path}.{kind}"
    if kind == "fixed":
        return Duration("fixed", _num({"v": p}, "v", sub))
    if not isinstance(p, dict):
        raise SettingsError(sub, "参数应为对象 / parameters must be an object")
    if kind == "lognormal":
        if "median" in p:
            med, p90 = _num(p, "median", sub, True), _num(p, "p90", sub, True)
            if p90 < med:
                raise SettingsError(f"{sub}.p90", "p90 不能小于中位数 / p90 must not be below the median")
            return Duration("lognormal", math.log(med), math.log(p90 / med) / Z90)
        mu = p.get("mu")
        if isinstance(mu, bool) or not isinstance(mu, (int, float)):
            raise SettingsError(f"{sub}.mu", "应为数字 / must be a number")
        return Duration("lognormal", float(mu), _num(p, "sigma", sub))
    if kind == "triangular":
        lo, mode, hi = _num(p, "min", sub), _num(p, "mode", sub), _num(p, "max", sub)
        if not lo <= mode <= hi:
            raise SettingsError(sub, "须 min ≤ mode ≤ max / need min ≤ mode ≤ max")
        return Duration("triangular", lo, hi, mode)
    if kind == "exponential":
        return Duration("exponential", _num(p, "mean", sub))
    if kind == "uniform":
        lo, hi = _num(p, "min", sub), _num(p, "max", sub)
        if hi < lo:
            raise SettingsError(sub, "须 min ≤ max / need min ≤ max")
        return Duration("uniform", lo, hi)
    raise SettingsError(path, f"未知分布 “{kind}” / unknown distribution")


@dataclass(frozen=True)
class Generator:
    """Values of one form field."""

    kind: str
    values: tuple = ()
    cum: tuple = ()

    def value(self, rng: random.Random, case_data: dict | None = None):
        k = self.kind
        if k == "value":
            return self.values[0]
        if k == "choice":
            u = rng.random() * self.cum[-1]
            for v, c in zip(self.values, self.cum):
                if u < c:
                    return v
            return self.values[-1]
        if k == "integer":
            return rng.randint(int(self.values[0]), int(self.values[1]))
        return round(rng.uniform(self.values[0], self.values[1]), 2)


def parse_generator(spec: Any, path: str) -> Generator:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise SettingsError(
            path, "应为 {value|choice|uniform|integer: …} / must be one of {value|choice|uniform|integer: …}"
        )
    ((kind, p),) = spec.items()
    if kind == "value":
        return Generator("value", (p,))
    if kind == "choice":
        if not isinstance(p, list) or not p or not all(isinstance(x, list) and len(x) == 2 for x in p):
            raise SettingsError(f"{path}.choice", "应为 [[值, 权重], …] / must be [[value, weight], …]")
        total, cum = 0.0, []
        for i, (_, w) in enumerate(p):
            if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                raise SettingsError(f"{path}.choice.{i}", "权重应为非负数 / weight must be a non-negative number")
            total += w
            cum.append(total)
        if total <= 0:
            raise SettingsError(f"{path}.choice", "权重之和须为正 / weights must add up to more than 0")
        return Generator("choice", tuple(v for v, _ in p), tuple(cum))
    if kind in ("uniform", "integer"):
        if (
            not isinstance(p, list)
            or len(p) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p)
            or p[1] < p[0]
        ):
            raise SettingsError(f"{path}.{kind}", "应为 [下限, 上限] / must be [low, high]")
        return Generator(kind, (p[0], p[1]))
    raise SettingsError(path, f"未知生成方式 “{kind}” / unknown generator")
