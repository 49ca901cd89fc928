"""Agent-based model of enterprises and talent choosing between Beijing and Xianghe County.

The parameter declarations (``model.params``) import nothing beyond the standard library;
the model and its indicators load the simulation stack (Mesa, numpy, pandas) on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .params import PARAMS, ParamError

if TYPE_CHECKING:
    from .indicators import INDICATORS, NAMES
    from .model import XiangheModel

__all__ = ["INDICATORS", "NAMES", "PARAMS", "ParamError", "XiangheModel"]


def __getattr__(name: str):
    if name in ("INDICATORS", "NAMES"):
        from . import indicators

        return getattr(indicators, name)
    if name == "XiangheModel":
        from .model import XiangheModel

        return XiangheModel
    raise AttributeError(f"module 'model' has no attribute {name!r}")


def __dir__() -> list[str]:
    """What ``__all__`` promises as well as what is loaded, so tab completion and tools
    that list the package find the model class before its first use."""
    return sorted({*globals(), *__all__})
