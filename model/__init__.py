"""Agent-based model of enterprises and talent choosing between Beijing and Xianghe County."""

from .indicators import INDICATORS, NAMES
from .model import XiangheModel
from .params import PARAMS, ParamError

__all__ = ["INDICATORS", "NAMES", "PARAMS", "ParamError", "XiangheModel"]
