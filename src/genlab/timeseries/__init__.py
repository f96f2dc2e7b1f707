"""Models of continuous time series: linear Gaussian autoregressions (AR / VAR) and their conjugate prior."""

from genlab.timeseries.autoregressive import Forecast, LinearAutoRegressive, PosteriorDraws
from genlab.timeseries.priors import MatrixNormalInverseWishart

__all__ = ["Forecast", "LinearAutoRegressive", "MatrixNormalInverseWishart", "PosteriorDraws"]
