"""One-line logging to xsite from training frameworks.

Each adapter is a module of its own that imports its framework, so ``import xsite`` never
does: import the one you use.

- :mod:`xsite.integrations.lightning`: ``XsiteLogger``, a PyTorch Lightning logger;
- :mod:`xsite.integrations.keras`: ``XsiteCallback``, a Keras 3 callback;
- :mod:`xsite.integrations.huggingface`: ``XsiteCallback``, a Hugging Face ``Trainer`` callback;
- :mod:`xsite.integrations.optuna`: ``XsiteCallback``, a run per Optuna trial;
- :mod:`xsite.integrations.sklearn`: ``log_search``, a run per candidate of a scikit-learn
  search (``GridSearchCV``, ``RandomizedSearchCV``…).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any


def plain_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Hyperparameters as xsite keeps them. Frameworks pass anything (a module, a dtype, a
    tensor, an enum); what is not a number, text, list or mapping is kept as its text."""
    return {str(key): _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | str | numbers.Number):
        return value
    if isinstance(value, Mapping):
        return plain_params(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    item = getattr(value, "item", None)  # NumPy and tensor scalars
    if callable(item):
        try:
            return _plain(item())
        except (TypeError, ValueError, RuntimeError):
            pass
    return str(value)
