"""A PNG plot of reward per training step."""

from __future__ import annotations

from pathlib import Path


def plot_rewards(
    steps: list[int],
    rewards: list[float],
    path: str | Path,
    title: str = "reward per step",
    success: list[float] | None = None,
) -> Path:
    """Plot mean reward per step (with a running mean when there are enough points), and the success
    rate per step when given, to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(steps, rewards, marker="o", markersize=3, linewidth=1, label="mean reward")
    window = max(1, len(rewards) // 10)
    if window > 1:
        smooth = [
            sum(rewards[max(0, i - window + 1) : i + 1]) / len(rewards[max(0, i - window + 1) : i + 1])
            for i in range(len(rewards))
        ]
        ax.plot(steps, smooth, linewidth=2, label=f"running mean ({window})")
    if success is not None and len(success) == len(steps):
        ax.plot(steps, success, marker="s", markersize=3, linewidth=1, label="success rate")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step")
    ax.set_ylabel("reward")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
