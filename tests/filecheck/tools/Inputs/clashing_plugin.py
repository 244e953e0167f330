"""A plugin whose pass name clashes with examples/plugin's (canopy-opt must refuse)."""

from dataclasses import dataclass

from xdsl.passes import ModulePass


@dataclass(frozen=True)
class Impostor(ModulePass):
    name = "demo-lower-double"

    def apply(self, ctx, op) -> None:
        pass


PASSES = [Impostor]
