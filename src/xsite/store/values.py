"""Turning what users pass to ``init``/``log``/``log_params`` into what the store holds."""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any, Final

ParamValue = None | bool | int | float | str | list[Any] | dict[str, Any]


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, ParamValue]:
    """``{"optimizer": {"name": "adam"}}`` → ``{"optimizer.name": "adam"}``.

    Lists and tuples stay whole (stored as JSON); an empty mapping is kept as ``{}`` so that
    a param that was set is never silently dropped.
    """
    flat: dict[str, ParamValue] = {}
    for key, value in params.items():
        if not isinstance(key, str):
            raise TypeError(f"param names must be str, got {key!r} under {prefix or 'the top'}")
        full_key = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_params(value, prefix=f"{full_key}."))
        else:
            flat[full_key] = _plain_param(full_key, value)
    return flat


def _plain_param(key: str, value: Any) -> ParamValue:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Mapping):
        return {}
    if isinstance(value, list | tuple):
        return [_plain_param(f"{key}[{i}]", item) for i, item in enumerate(value)]
    item = getattr(value, "item", None)  # numpy / torch / jax scalars
    if callable(item):
        try:
            return _plain_param(key, item())
        except (TypeError, ValueError):
            pass
    raise TypeError(
        f"param {key!r} has type {type(value).__name__}; use None, bool, int, float, str, "
        "a list of those or a dict (convert other objects with str())"
    )


def encode_param(value: ParamValue) -> str:
    """JSON text that decodes to an equal value of the same type (NaN and ±inf included)."""
    return json.dumps(value, allow_nan=True, ensure_ascii=False, sort_keys=True)


def decode_param(text: str) -> ParamValue:
    return json.loads(text)


def coerce_metric(key: object, value: object) -> float:
    """A metric value as a float, or a ``TypeError`` that names the metric."""
    if not isinstance(key, str):
        raise TypeError(f"metric names must be str, got {key!r}")
    if isinstance(value, numbers.Real):
        return _to_float(key, value)
    item = getattr(value, "item", None)  # numpy arrays of one element, torch/jax tensors
    if callable(item) and not isinstance(value, str | bytes):
        try:
            scalar = item()
        except (TypeError, ValueError, RuntimeError):
            scalar = None
        if isinstance(scalar, numbers.Real):
            return _to_float(key, scalar)
    raise TypeError(
        f"metric {key!r} must be a number, got {type(value).__name__} {_short_repr(value)}"
    )


def _to_float(key: str, value: numbers.Real) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metric {key!r} cannot be converted to float: {exc}") from exc


def coerce_step(step: object) -> int:
    if isinstance(step, numbers.Integral) and not isinstance(step, bool):
        return int(step)
    raise TypeError(f"step must be an int, got {type(step).__name__} {_short_repr(step)}")


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_INT: Final = re.compile(r"[-+]?\d+")
_FLOAT: Final = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def parse_value(text: str) -> bool | int | float | str:
    """Text as the param it means (command-line values, other trackers' params):
    ``true``/``false`` a bool, ``32`` an int, ``1e-3`` or ``0.5`` a float, else the text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text
