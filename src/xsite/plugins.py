"""Finding plugins: the built-in ones, then those installed under the ``xsite``
entry-point group."""

from __future__ import annotations

import importlib

import pluggy

from xsite import hooks

DEFAULT_PLUGINS = (
    "xsite.compare",
    "xsite.notes",
    "xsite.records",
    "xsite.registry",
    "xsite.search",
)
"""Built-in features, shipped as plugins that use the same hooks a third party would."""


def plugin_manager(*extra: object) -> pluggy.PluginManager:
    """The built-in plugins, installed ones and ``extra`` plugin objects (for tests and
    for programs that build sites with a plugin of their own)."""
    manager = pluggy.PluginManager("xsite")
    manager.add_hookspecs(hooks)
    for name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(name), name)
    manager.load_setuptools_entrypoints("xsite")
    for plugin in extra:
        manager.register(plugin)
    return manager
