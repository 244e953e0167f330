"""canopy_mlir.quantization: the integer arithmetic of quantized models.

``fixed_point`` turns a real requantization scale into the multiplier and rounding
shift the core's ALU can apply (``graph.requantize``), with an overflow analysis.
"""

from canopy_mlir.quantization.fixed_point import (
    Requantization,
    RequantizationError,
    RequantizationErrorReport,
    choose_requantization,
    fixed_point_requantize,
    requantize_error,
)

__all__ = [
    "Requantization",
    "RequantizationError",
    "RequantizationErrorReport",
    "choose_requantization",
    "fixed_point_requantize",
    "requantize_error",
]
