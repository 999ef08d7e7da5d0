"""The exceptions xsite raises. The CLI turns every :class:`XsiteError` into a message and
exit code 1; anything else is a bug."""

from __future__ import annotations


class XsiteError(Exception):
    """Base class: something the user can fix, with a message that says what."""


class ConfigError(XsiteError):
    """A setting in ``xsite.toml``, ``pyproject.toml`` or on the command line is wrong."""


class StoreError(XsiteError):
    """The store cannot be opened, written or read."""


class ModelNotFoundError(StoreError, LookupError):
    """No model, or no version of it, matches what was asked for."""


class RunFinishedError(StoreError):
    """Something was logged to a run after it finished."""


class BuildError(XsiteError):
    """The site cannot be built."""
