"""canopy-opt plugins: Python files or modules that add dialects, passes and more.

``canopy-opt --load-plugin my_plugin.py`` (repeatable; a dotted module name works too)
imports the plugin before anything is parsed. A plugin says what it adds in either way:

1. a function ``register(registry)`` receiving a ``PluginRegistry``::

       def register(registry):
           registry.add_dialect("toy", lambda: Toy)     # name, factory -> Dialect
           registry.add_pass(ToyLowerPass)              # a ModulePass subclass
           registry.add_pipeline("toy-all", "toy-lower,cse", "what it is for")
           registry.add_target(ToyTarget)               # an xdsl Target subclass

2. module-level lists: ``DIALECTS = [Toy]``, ``PASSES = [ToyLowerPass]``,
   ``TARGETS = [ToyTarget]`` and ``PIPELINES = {"toy-all": "toy-lower,cse"}``.

Installed packages can also extend canopy-opt without a flag, through xDSL's entry
point group ``xdsl.universe`` (an ``xdsl.universe.Universe``; xDSL's own universe is
skipped, canopy-opt offers a curated subset of it).

Names must be new: a plugin adding a dialect, pass, target or pipeline that exists
already is an error naming both, not a silent override.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from xdsl.ir import Dialect
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import ArgSpecParseError
from xdsl.utils.target import Target

from canopy_mlir.tools.pipelines import NamedPipeline, PipelineError, register_pipeline


class PluginError(Exception):
    """A plugin that cannot be loaded or adds something invalid (the message says which)."""


@dataclass
class PluginRegistry:
    """What plugins add; canopy-opt merges it into its own registries."""

    dialects: dict[str, Callable[[], Dialect]] = field(default_factory=dict)
    passes: dict[str, Callable[[], type[ModulePass]]] = field(default_factory=dict)
    targets: dict[str, Callable[[], type[Target]]] = field(default_factory=dict)
    pipelines: dict[str, NamedPipeline] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    """'kind name' -> the plugin that added it, for clash messages."""
    current_plugin: str = "<api>"

    def _claim(self, kind: str, name: str) -> None:
        key = f"{kind} {name}"
        if key in self.origin:
            raise PluginError(
                f"{self.current_plugin}: {kind} '{name}' is already added by "
                f"{self.origin[key]}"
            )
        self.origin[key] = self.current_plugin

    def add_dialect(
        self, name_or_dialect: str | Dialect, factory: Callable[[], Dialect] | None = None
    ) -> None:
        """Add a dialect: ``add_dialect("toy", lambda: Toy)`` or ``add_dialect(Toy)``."""
        if isinstance(name_or_dialect, Dialect):
            dialect = name_or_dialect
            name, factory = dialect.name, lambda: dialect
        elif factory is None or not callable(factory):
            raise PluginError(
                f"{self.current_plugin}: add_dialect('{name_or_dialect}', factory) needs "
                "a factory returning the Dialect"
            )
        else:
            name = name_or_dialect
        self._claim("dialect", name)
        self.dialects[name] = factory

    def add_pass(self, pass_class: type[ModulePass]) -> None:
        """Add a pass under its ``name`` class attribute."""
        if not (isinstance(pass_class, type) and issubclass(pass_class, ModulePass)):
            raise PluginError(
                f"{self.current_plugin}: add_pass expects a ModulePass subclass, "
                f"got {pass_class!r}"
            )
        name = getattr(pass_class, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(
                f"{self.current_plugin}: pass class {pass_class.__name__} has no `name`"
            )
        self._claim("pass", name)
        self.passes[name] = lambda: pass_class

    def add_target(self, target_class: type[Target]) -> None:
        """Add an output target (``-t name``) under its ``name`` class attribute."""
        if not (isinstance(target_class, type) and issubclass(target_class, Target)):
            raise PluginError(
                f"{self.current_plugin}: add_target expects a Target subclass, "
                f"got {target_class!r}"
            )
        self._claim("target", target_class.name)
        self.targets[target_class.name] = lambda: target_class

    def add_pipeline(self, name: str, spec: str, description: str = "") -> None:
        """Add a named pipeline (see ``canopy_mlir.tools.pipelines``)."""
        self._claim("pipeline", name)
        try:
            register_pipeline(name, spec, description, registry=self.pipelines)
        except (PipelineError, ArgSpecParseError) as err:
            raise PluginError(f"{self.current_plugin}: pipeline '{name}': {err}") from None


def _import_file(path: Path) -> ModuleType:
    """Import the Python file ``path`` under a module name unique to its location."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    module_name = f"canopy_plugin_{path.stem}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin {path}: not a loadable Python file")
    module = importlib.util.module_from_spec(spec)
    # Registered before running, as for a normal import (dataclasses look it up).
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def import_plugin(reference: str) -> ModuleType:
    """Import a plugin given as a ``.py`` path or as a dotted module name."""
    path = Path(reference)
    looks_like_path = reference.endswith(".py") or "/" in reference or path.exists()
    try:
        if looks_like_path:
            if not path.is_file():
                raise PluginError(f"plugin {reference}: no such file")
            return _import_file(path.resolve())
        return importlib.import_module(reference)
    except PluginError:
        raise
    except Exception as err:
        raise PluginError(
            f"plugin {reference}: import failed: {type(err).__name__}: {err}"
        ) from err


def _register_module(module: ModuleType, registry: PluginRegistry) -> None:
    register = getattr(module, "register", None)
    lists = {name: getattr(module, name, None) for name in ("DIALECTS", "PASSES", "TARGETS")}
    pipelines = getattr(module, "PIPELINES", None)
    if register is None and not any(lists.values()) and not pipelines:
        raise PluginError(
            f"{registry.current_plugin}: defines neither register(registry) nor "
            "DIALECTS / PASSES / TARGETS / PIPELINES"
        )
    if register is not None:
        try:
            register(registry)
        except PluginError:
            raise
        except Exception as err:
            raise PluginError(
                f"{registry.current_plugin}: register() failed: {type(err).__name__}: {err}"
            ) from err
    for dialect in lists["DIALECTS"] or ():
        registry.add_dialect(dialect)
    for pass_class in lists["PASSES"] or ():
        registry.add_pass(pass_class)
    for target_class in lists["TARGETS"] or ():
        registry.add_target(target_class)
    for name, spec in _pipeline_items(pipelines):
        registry.add_pipeline(name, spec)


def _pipeline_items(pipelines: Mapping[str, str] | None) -> Iterable[tuple[str, str]]:
    return () if not pipelines else pipelines.items()


def load_plugins(references: Iterable[str], registry: PluginRegistry | None = None) -> PluginRegistry:
    """Import each plugin and collect what it adds into ``registry`` (a new one if None)."""
    registry = PluginRegistry() if registry is None else registry
    for reference in references:
        module = import_plugin(reference)
        registry.current_plugin = f"plugin {reference}"
        _register_module(module, registry)
    registry.current_plugin = "<api>"
    return registry


def load_universe_entry_points(registry: PluginRegistry) -> PluginRegistry:
    """Add what installed ``xdsl.universe`` entry points offer (but xDSL's own)."""
    from importlib.metadata import entry_points

    from xdsl.universe import Universe

    for entry in entry_points(group="xdsl.universe"):
        if entry.name == "xdsl":
            continue
        registry.current_plugin = f"entry point {entry.name} ({entry.value})"
        try:
            universe = entry.load()
        except Exception as err:
            raise PluginError(f"{registry.current_plugin}: {type(err).__name__}: {err}") from err
        if not isinstance(universe, Universe):
            raise PluginError(f"{registry.current_plugin}: is not an xdsl Universe")
        for name, factory in universe.all_dialects.items():
            registry.add_dialect(name, factory)
        for name, factory in universe.all_passes.items():
            registry._claim("pass", name)
            registry.passes[name] = factory
        for name, factory in universe.all_targets.items():
            registry._claim("target", name)
            registry.targets[name] = factory
    registry.current_plugin = "<api>"
    return registry


__all__ = [
    "PluginError",
    "PluginRegistry",
    "import_plugin",
    "load_plugins",
    "load_universe_entry_points",
]
