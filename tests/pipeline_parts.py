"""Named pipelines cut just before ``graph-partition``, for tests that compare levels.

Tests run the part that makes the integer graph (the reference the lower levels must
equal bit for bit) and the part that lowers it separately; this is the one place that
knows how to cut a named pipeline and give its passes their options.
"""

from __future__ import annotations

from canopy_mlir.tools.pipelines import NAMED_PIPELINES

CONFIGURED = ("graph-partition", "convert-graph-to-tile", "convert-tile-to-dma")
"""The passes of the lowering part that take a ``config``."""


def split_pipeline(name: str, config: str | None = None, quantize: str | None = None,
                   partition: str = "") -> tuple[str, str]:
    """(integer-graph part, lowering part) of named pipeline ``name``.

    ``quantize``: the graph-quantize spec to run in its place (float models), None to
    drop it (QDQ / integer models); ``config``: given to every pass that takes one;
    ``partition``: more graph-partition options (``first-conv-min-channels=0``).
    """
    passes = NAMED_PIPELINES[name].spec.split(",")
    cut = passes.index("graph-partition")
    integer = [quantize if p == "graph-quantize" else p for p in passes[:cut]
               if quantize or p != "graph-quantize"]
    rest = [_with_options(p, config, partition) for p in passes[cut:]]
    return ",".join(integer), ",".join(rest)


def _with_options(name: str, config: str | None, partition: str) -> str:
    options = []
    if config is not None and name in CONFIGURED:
        options.append(f'config="{config}"')
    if partition and name == "graph-partition":
        options.append(partition)
    return f"{name}{{{' '.join(options)}}}" if options else name
