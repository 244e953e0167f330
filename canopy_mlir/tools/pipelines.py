"""Named pass pipelines: ``canopy-opt -p canopy-default`` stands for a list of passes.

A named pipeline is a pipeline spec (the text ``-p`` takes) under a name. Names may be
mixed with passes and with other names: ``-p 'canopy-default,dce'``. Names take no
options (give the passes' options by spelling the passes out).

Adding one: append to ``NAMED_PIPELINES`` below (or call ``register_pipeline`` from a
plugin, see ``canopy_mlir.tools.plugins``)::

    register_pipeline(
        "canopy-lower",
        "canopy-default,lower-graph-to-isa{tile=16}",
        "graph IR to isa programs",
    )

``canopy-opt --list-pipelines`` prints them all with what they expand to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline


class PipelineError(ValueError):
    """A named pipeline that cannot be registered or expanded (the message says why)."""


@dataclass(frozen=True)
class NamedPipeline:
    """A pipeline spec under a name, and one line saying what it is for."""

    name: str
    spec: str
    description: str = ""


NAMED_PIPELINES: dict[str, NamedPipeline] = {}


def register_pipeline(
    name: str,
    spec: str,
    description: str = "",
    *,
    registry: dict[str, NamedPipeline] | None = None,
) -> NamedPipeline:
    """Register ``spec`` under ``name`` (in ``registry``, default ``NAMED_PIPELINES``).

    The spec is parsed now, so a typo fails at registration rather than at use; the
    passes it names are checked when it is expanded (plugins may add them later).
    """
    registry = NAMED_PIPELINES if registry is None else registry
    if name in registry:
        raise PipelineError(f"pipeline '{name}' is already registered")
    tuple(parse_pipeline(spec))
    pipeline = NamedPipeline(name, spec, description)
    registry[name] = pipeline
    return pipeline


register_pipeline(
    "canopy-default",
    # Constants first (weights computed from constants feed the batch-norm fold), then
    # canonicalize and cse (they expose conv -> batch_norm -> relu chains: identity ops
    # between them go, duplicate users merge into one), the folds, fusion, cse again.
    "graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-fuse-activations,cse",
    "canopy_mlir's default clean-up: fold constants, canonicalize, cse, fold batch norms, "
    "fuse activations, cse",
)


def expand_pipeline(
    spec: str,
    pipelines: Mapping[str, NamedPipeline],
    available_passes: Iterable[str] = (),
) -> list[ArgSpec]:
    """The pass specs of ``spec`` with every named pipeline replaced by its passes.

    Raises ``PipelineError`` for options on a pipeline name, a pipeline that names
    itself (directly or not), or a pass and a pipeline sharing a name.
    """
    passes = set(available_passes)
    clash = sorted(passes & set(pipelines))
    if clash:
        raise PipelineError(f"{', '.join(clash)}: both a pass and a named pipeline")
    return _expand(spec, pipelines, ())


def _expand(
    spec: str, pipelines: Mapping[str, NamedPipeline], enclosing: tuple[str, ...]
) -> list[ArgSpec]:
    expanded: list[ArgSpec] = []
    for item in parse_pipeline(spec):
        named = pipelines.get(item.name)
        if named is None:
            expanded.append(item)
            continue
        if item.parameters:
            raise PipelineError(
                f"pipeline '{item.name}' takes no options (it stands for "
                f"'{named.spec}': spell the passes out to give them options)"
            )
        if item.name in enclosing:
            cycle = " -> ".join((*enclosing, item.name))
            raise PipelineError(f"named pipeline cycle: {cycle}")
        expanded.extend(_expand(named.spec, pipelines, (*enclosing, item.name)))
    return expanded


def instantiate_passes(
    specs: Iterable[ArgSpec],
    available_passes: Mapping[str, Callable[[], type[ModulePass]]],
) -> tuple[ModulePass, ...]:
    """Pass objects for ``specs``; unknown names raise ``ValueError`` naming them all."""
    specs = tuple(specs)
    unknown = [spec.name for spec in specs if spec.name not in available_passes]
    if unknown:
        raise ValueError(f"Unrecognized passes: {unknown}")
    return tuple(available_passes[spec.name]().from_spec(spec) for spec in specs)


def pipeline_spec(passes: Iterable[ModulePass]) -> str:
    """The ``-p`` text that recreates ``passes`` with their options."""
    return ",".join(str(pass_.spec()) for pass_ in passes)


def describe_pipelines(pipelines: Mapping[str, NamedPipeline]) -> str:
    """One line per named pipeline: name, expansion, description."""
    lines = []
    for named in sorted(pipelines.values(), key=lambda p: p.name):
        about = f"  ({named.description})" if named.description else ""
        lines.append(f"{named.name} = {named.spec}{about}")
    return "\n".join(lines)


__all__ = [
    "NAMED_PIPELINES",
    "NamedPipeline",
    "PipelineError",
    "describe_pipelines",
    "expand_pipeline",
    "instantiate_passes",
    "pipeline_spec",
    "register_pipeline",
]
