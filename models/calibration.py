"""Confidence calibration: temperature scaling fitted by likelihood, and the expected calibration error."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ECE_BINS = 15  # equal-width confidence bins, the usual choice (Guo et al. 2017)
TEMPERATURE_BOUNDS = (0.05, 20.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def log_probs(probabilities: np.ndarray) -> np.ndarray:
    """Logits of probabilities (softmax of these gives them back); zeros are clipped so the log stays finite."""
    return np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), 1e-12))


def fit_temperature(logits: np.ndarray, labels: Sequence[int]) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(logits / T) (bounded, deterministic)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    z = np.asarray(logits, dtype=np.float64)
    rows = np.arange(len(z))
    y = np.asarray(labels)

    def nll(t: float) -> float:
        return float(-log_softmax(z / t, axis=1)[rows, y].mean())

    result = minimize_scalar(nll, bounds=TEMPERATURE_BOUNDS, method="bounded", options={"xatol": 1e-5})
    return round(float(result.x), 4)


def ece(probabilities: np.ndarray, labels: Sequence[int], bins: int = ECE_BINS) -> float:
    """Expected calibration error of the top label: sum over bins of |accuracy - mean confidence| x share."""
    p = np.asarray(probabilities)
    conf = p.max(axis=1)
    correct = p.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return round(float(total), 4)
