"""Drawing a Bayesian network's DAG with matplotlib (the ``plot`` extra)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["plot_dag"]


def plot_dag(
    variables: Sequence[str], parents: Mapping[str, Sequence[str]], ax: Any = None, *, with_labels: bool = True
) -> Any:
    """Draw a DAG in layers by depth (a root has depth 0, a child one more than its deepest parent).

    Parameters
    ----------
    variables : sequence of str
        In topological order.
    parents : mapping of str to sequence of str
    ax : matplotlib Axes, optional
        A new figure's Axes (0.6 inch per variable wide) by default.
    with_labels : bool
        Write each variable's name on its node.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, len(variables) * 0.6), 4.0))
    depth: dict[str, int] = {}
    for v in variables:
        depth[v] = 1 + max((depth[p] for p in parents[v]), default=-1)
    layers: dict[int, list[str]] = {}
    for v in variables:
        layers.setdefault(depth[v], []).append(v)
    # each layer centred on x = 0, one unit between nodes, deeper layers lower
    pos = {v: (i - (len(vs) - 1) / 2.0, -d) for d, vs in layers.items() for i, v in enumerate(vs)}
    for child in variables:
        for parent in parents[child]:
            ax.annotate("", xy=pos[child], xytext=pos[parent],
                        arrowprops={"arrowstyle": "->", "color": "0.4", "shrinkA": 12, "shrinkB": 12})
    for v, (x, y) in pos.items():
        ax.scatter([x], [y], s=400, color="#cfe2f3", edgecolors="0.3", zorder=2)
        if with_labels:
            ax.text(x, y, v, ha="center", va="center", fontsize=8, zorder=3)
    ax.set_axis_off()
    return ax
