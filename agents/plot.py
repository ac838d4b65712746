"""PNG plots of values per training step: GRPO's reward (and success rate), SFT's loss."""

from __future__ import annotations

from pathlib import Path


def plot_series(
    steps: list[int],
    values: list[float],
    path: str | Path,
    name: str,
    title: str,
    extra: dict[str, list[float]] | None = None,
) -> Path:
    """Plot ``name`` per step (with a running mean when there are enough points), and each ``extra``
    series of the same length, to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(steps, values, marker="o", markersize=3, linewidth=1, label=name)
    window = max(1, len(values) // 10)
    if window > 1:
        smooth = [
            sum(values[max(0, i - window + 1) : i + 1]) / len(values[max(0, i - window + 1) : i + 1])
            for i in range(len(values))
        ]
        ax.plot(steps, smooth, linewidth=2, label=f"running mean ({window})")
    for label, series in (extra or {}).items():
        if len(series) == len(steps):
            ax.plot(steps, series, marker="s", markersize=3, linewidth=1, label=label)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step")
    ax.set_ylabel(name.removeprefix("mean "))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_rewards(
    steps: list[int],
    rewards: list[float],
    path: str | Path,
    title: str = "reward per step",
    success: list[float] | None = None,
) -> Path:
    """Plot mean reward per step, and the success rate per step when given, to ``path``."""
    extra = {"success rate": success} if success is not None else None
    return plot_series(steps, rewards, path, "mean reward", title, extra)


def plot_loss(steps: list[int], losses: list[float], path: str | Path, title: str = "loss per step") -> Path:
    """Plot the training loss per step to ``path``."""
    return plot_series(steps, losses, path, "loss", title)
