"""Named pass pipelines: ``canopy-opt -p canopy-default`` stands for a list of passes.

A named pipeline is a pipeline spec (the text ``-p`` takes) under a name. Names may be
mixed with passes and with other names: ``-p 'canopy-cleanup,dce'``.

The ones canopy_mlir ships, top to bottom of the dialect stack:

- ``canopy-cleanup``: graph-level clean-up (constants, canonicalize, cse, batch norms,
  activations) of any imported model; stays at the graph level.
- ``canopy-to-tile``: a QDQ model (or a float one with a calibration option) down to
  tile ops for the card.
- ``canopy-default``: the whole compiler, ``canopy-opt -f onnx`` input down to the
  ``dma`` level, from where ``-t canopy-artifact`` / ``-t opencl-host`` emit
  (``canopy-to-dma`` is the same pipeline under its descriptive name).

A pipeline may declare options (``PipelineOption``): each is routed to the passes of the
expansion that take it, the way ``mlir-opt``'s pass pipelines forward their options::

    canopy-opt -f onnx model.onnx -p 'canopy-to-tile{calibration-random=4 config=tiny}'

gives ``calibration-random=4`` to ``graph-quantize`` and ``config=tiny`` to
``graph-partition`` and ``convert-graph-to-tile``. A pass listed as *optional* is part of
the expansion only when one of its options is given (``graph-quantize`` runs only when
calibration data is named: a QDQ model needs none). Undeclared options are an error that
lists the declared ones; a pipeline without options takes none.

Adding one: append to ``NAMED_PIPELINES`` below (or call ``register_pipeline`` from a
plugin, see ``canopy_mlir.tools.plugins``)::

    register_pipeline(
        "canopy-lower",
        "canopy-cleanup,lower-graph-to-isa{tile=16}",
        "graph IR to isa programs",
    )

``canopy-opt --list-pipelines`` prints them all with what they expand to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline


class PipelineError(ValueError):
    """A named pipeline that cannot be registered or expanded (the message says why)."""


@dataclass(frozen=True)
class PipelineOption:
    """An option of a named pipeline and the passes of its expansion that receive it."""

    name: str
    passes: tuple[str, ...]
    help: str = ""


@dataclass(frozen=True)
class NamedPipeline:
    """A pipeline spec under a name, and one line saying what it is for.

    ``options`` are forwarded to passes (see the module docstring); ``optional`` names
    passes of ``spec`` that are dropped unless one of the options routed to them is given.
    """

    name: str
    spec: str
    description: str = ""
    options: tuple[PipelineOption, ...] = ()
    optional: tuple[str, ...] = ()

    def option_names(self) -> list[str]:
        return [option.name for option in self.options]


NAMED_PIPELINES: dict[str, NamedPipeline] = {}


def register_pipeline(
    name: str,
    spec: str,
    description: str = "",
    *,
    options: tuple[PipelineOption, ...] = (),
    optional: tuple[str, ...] = (),
    registry: dict[str, NamedPipeline] | None = None,
) -> NamedPipeline:
    """Register ``spec`` under ``name`` (in ``registry``, default ``NAMED_PIPELINES``).

    The spec is parsed now, so a typo fails at registration rather than at use (as does
    an option routed to a pass the spec does not run); the passes it names are checked
    when it is expanded (plugins may add them later).
    """
    registry = NAMED_PIPELINES if registry is None else registry
    if name in registry:
        raise PipelineError(f"pipeline '{name}' is already registered")
    names = {item.name for item in parse_pipeline(spec)}
    for option in options:
        missing = sorted(set(option.passes) - names)
        if missing:
            raise PipelineError(
                f"pipeline '{name}': option '{option.name}' is routed to {', '.join(missing)}, "
                "which the pipeline does not run"
            )
    strays = sorted(set(optional) - names)
    if strays:
        raise PipelineError(f"pipeline '{name}': optional {', '.join(strays)} not in its spec")
    pipeline = NamedPipeline(name, spec, description, tuple(options), tuple(optional))
    registry[name] = pipeline
    return pipeline


register_pipeline(
    "canopy-cleanup",
    # Constants first (weights computed from constants feed the batch-norm fold), then
    # canonicalize and cse (they expose conv -> batch_norm -> relu chains: identity ops
    # between them go, duplicate users merge into one), the folds, fusion, cse again.
    "graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-fuse-activations,cse",
    "canopy_mlir's graph clean-up: fold constants, canonicalize, cse, fold batch norms, "
    "fuse activations, cse",
)


_QUANTIZE_OPTIONS = (
    ("calibration", "an .npz of calibration inputs for a float model"),
    ("calibration-random", "N random calibration inputs (smoke tests)"),
    ("seed", "seed of the random calibration inputs"),
    ("method", "calibration method: minmax | percentile"),
    ("percentile", "percentile of the percentile method"),
    ("per-channel", "per-output-channel weight scales"),
    ("symmetric", "int8 activations with zero point 0 (else uint8 asymmetric)"),
)

_TO_TILE = (
    # The QDQ fold comes first (after the graph's own exact rewrites, which make a
    # residual Sum an add): constant folding would turn DequantizeLinear(int8 weight) into
    # a float weight and hide the pattern. A float model is cleaned up (batch norms folded)
    # before graph-quantize calibrates it; activations are not fused into float convs here
    # because the tail of each tile takes them. graph-uint8-to-int8 then moves uint8
    # activations (onnxruntime's QUInt8) to int8, exactly, so that their GEMMs reach the card.
    # Two more exact rewrites feed the card's int8 GEMM: batched matmuls with constant
    # weights become grouped 1x1 convs (before the fold, which folds QLinearConv), and
    # weights whose w - zero point leaves int8 are split into int8 terms.
    "graph-canonicalize,graph-batched-matmul-to-conv,graph-fold-qdq,graph-fold-constants,canonicalize,cse,"
    "graph-fold-batchnorm,graph-quantize,graph-uint8-to-int8,graph-split-wide-weights,cse,dce,"
    "graph-partition,convert-graph-to-tile,canonicalize,cse,dce"
)

_PARTITION_OPTIONS = (
    PipelineOption("first-conv-min-utilisation", ("graph-partition",),
                   "least BLOCK_IN utilisation for an entry conv to go to the card (default 0.25)"),
    PipelineOption("first-conv-min-channels", ("graph-partition",),
                   "least input channels for an entry conv to go to the card (0: every one; "
                   "overrides the utilisation threshold)"),
)

register_pipeline(
    "canopy-to-tile",
    _TO_TILE,
    "an ONNX model (QDQ, or float with a calibration option) down to tile ops for the card",
    options=(
        *(PipelineOption(name, ("graph-quantize",), help) for name, help in _QUANTIZE_OPTIONS),
        PipelineOption("config", ("graph-partition", "convert-graph-to-tile"), "hardware config"),
        *_PARTITION_OPTIONS,
    ),
    optional=("graph-quantize",),
)

_TO_DMA_OPTIONS = (
    *(PipelineOption(name, ("graph-quantize",), help) for name, help in _QUANTIZE_OPTIONS),
    PipelineOption(
        "config", ("graph-partition", "convert-graph-to-tile", "convert-tile-to-dma"), "hardware config"
    ),
    PipelineOption("card-memory", ("convert-tile-to-dma",), "bytes of card memory the pool may use"),
    *_PARTITION_OPTIONS,
)

for _name, _description in (
    ("canopy-default", "the whole compiler: an ONNX model (QDQ, or float with a calibration option) "
     "down to the dma level (card programs, buffers, copies, launches)"),
    ("canopy-to-dma", "canopy-default under its descriptive name: canopy-to-tile, then "
     "convert-tile-to-dma"),
):
    register_pipeline(
        _name, _TO_TILE + ",convert-tile-to-dma", _description,
        options=_TO_DMA_OPTIONS, optional=("graph-quantize",),
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
        if item.name in enclosing:
            cycle = " -> ".join((*enclosing, item.name))
            raise PipelineError(f"named pipeline cycle: {cycle}")
        inner = _expand(named.spec, pipelines, (*enclosing, item.name))
        expanded.extend(_apply_options(named, item.parameters, inner))
    return expanded


def _apply_options(
    named: NamedPipeline, given: Mapping[str, tuple], specs: list[ArgSpec]
) -> list[ArgSpec]:
    """``specs`` with the options ``given`` to ``named`` added to the passes they route to,
    and its optional passes dropped unless an option reached them."""
    if given and not named.options:
        raise PipelineError(
            f"pipeline '{named.name}' takes no options (it stands for "
            f"'{named.spec}': spell the passes out to give them options)"
        )
    declared = {option.name: option for option in named.options}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise PipelineError(
            f"pipeline '{named.name}' has no option {', '.join(map(repr, unknown))} "
            f"(its options: {', '.join(named.option_names())})"
        )
    routed: dict[str, dict[str, tuple]] = {}
    for key, values in given.items():
        for pass_name in declared[key].passes:
            routed.setdefault(pass_name, {})[key] = values
    result = []
    for spec in specs:
        extra = routed.get(spec.name, {})
        if spec.name in named.optional and not extra:
            continue
        result.append(ArgSpec(spec.name, {**spec.parameters, **extra}) if extra else spec)
    return result


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


def apply_pipeline(module: ModuleOp, spec: str) -> ModuleOp:
    """Run ``spec`` (``-p`` syntax; named pipelines and their options allowed) on
    ``module`` in place, with the passes canopy-opt has, then verify; returns ``module``.

    The Python form of ``canopy-opt -p SPEC`` for users of the API and for tests.
    """
    from xdsl.transforms import get_all_passes

    from canopy_mlir.dialects import make_context
    from canopy_mlir.tools.opt import UPSTREAM_PASSES
    from canopy_mlir.transforms import ALL_PASSES

    upstream = get_all_passes()
    available = {**{name: upstream[name] for name in UPSTREAM_PASSES}, **ALL_PASSES}
    passes = instantiate_passes(expand_pipeline(spec, NAMED_PIPELINES, available), available)
    PassPipeline(passes).apply(make_context(), module)
    module.verify()
    return module


def pipeline_spec(passes: Iterable[ModulePass]) -> str:
    """The ``-p`` text that recreates ``passes`` with their options."""
    return ",".join(str(pass_.spec()) for pass_ in passes)


def describe_pipelines(pipelines: Mapping[str, NamedPipeline]) -> str:
    """One line per named pipeline: name, expansion, description."""
    lines = []
    for named in sorted(pipelines.values(), key=lambda p: p.name):
        about = f"  ({named.description})" if named.description else ""
        lines.append(f"{named.name} = {named.spec}{about}")
        for option in named.options:
            lines.append(f"    {option.name}: {option.help} (to {', '.join(option.passes)})")
    return "\n".join(lines)


__all__ = [
    "NAMED_PIPELINES",
    "apply_pipeline",
    "NamedPipeline",
    "PipelineError",
    "PipelineOption",
    "describe_pipelines",
    "expand_pipeline",
    "instantiate_passes",
    "pipeline_spec",
    "register_pipeline",
]
