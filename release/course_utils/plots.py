"""Figures the notebooks draw (Matplotlib only; given to students)."""

from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib.pyplot as plt

    return plt


def show_sequences(images, titles=None, *, max_rows=6, figsize_per_image=0.9):
    """Rows of character images: `images` (N, T, 28, 28) in [0, 1], one row per sequence."""
    plt = _plt()
    images = np.asarray(images)[:max_rows]
    n, steps = images.shape[:2]
    fig, axes = plt.subplots(n, steps, figsize=(steps * figsize_per_image, n * figsize_per_image), squeeze=False)
    for i in range(n):
        for j in range(steps):
            axes[i, j].imshow(images[i, j], cmap="gray", vmin=0, vmax=1)
            axes[i, j].axis("off")
        if titles is not None:
            axes[i, 0].set_title(str(titles[i]), fontsize=8, loc="left")
    fig.tight_layout()
    return fig


def show_images(images, titles=None, *, columns=8, size=1.2):
    """A grid of images: (N, H, W) grey or (N, H, W, 3) colour, values in [0, 1]."""
    plt = _plt()
    images = np.asarray(images)
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, range(len(images))):
        ax.imshow(images[i], cmap=None if images.ndim == 4 else "gray", vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    fig.tight_layout()
    return fig


def plot_history(history, metrics=("loss",), title=None):
    """Training curves from a Keras History (or its .history dict): one line per metric and its val_."""
    plt = _plt()
    logs = getattr(history, "history", history)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for key in (metric, f"val_{metric}"):
            if key in logs:
                ax.plot(np.arange(1, len(logs[key]) + 1), logs[key], label=key)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_error_rates(categories, title="Where the mistakes are"):
    """Bar chart of the error rate within each category of `error_categories` (dict of bool arrays).

    For each category c (operator, carry, borrow, negative answer): the fraction of
    queries in c that were answered wrong; plus the share of mistakes that are sign
    errors and off-by-one, and the error rate per answer position.
    """
    plt = _plt()
    wrong = np.asarray(categories["wrong"], bool)
    groups = [k for k in ("plus", "minus", "carry", "borrow", "negative") if k in categories]
    rates = [wrong[np.asarray(categories[k], bool)].mean() if np.any(categories[k]) else 0.0 for k in groups]
    kinds = [k for k in ("sign_wrong", "off_by_one", "invalid") if k in categories]
    shares = [np.asarray(categories[k], bool)[wrong].mean() if wrong.any() else 0.0 for k in kinds]
    position = np.asarray(categories["position"], bool).mean(0) if "position" in categories else []
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
    axes[0].bar(groups, rates, color="tab:red")
    axes[0].set_title("error rate within each group")
    axes[1].bar(kinds, shares, color="tab:orange")
    axes[1].set_title("share of the mistakes")
    axes[2].bar([f"char {i}" for i in range(len(position))], position, color="tab:purple")
    axes[2].set_title("error rate per answer position")
    for ax in axes:
        ax.set_ylim(0, 1)
    fig.suptitle(f"{title}: {wrong.mean():.1%} of {len(wrong)} answers wrong")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------
# Generative models


def _displayable(images):
    """(N, H, W, 1) -> (N, H, W) for imshow; other shapes unchanged."""
    images = np.asarray(images)
    return images[..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images


def show_rows(rows, row_titles=None, *, size=1.1, column_titles=None):
    """Rows of images, one labelled row per array: `rows` a list of (n_i, H, W[, C]) in [0, 1]
    (reconstructions under their originals, interpolation strips, ...)."""
    plt = _plt()
    rows = [_displayable(r) for r in rows]
    n_cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(n_cols * size + 1.2, len(rows) * size), squeeze=False)
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j < len(row):
                ax.imshow(np.clip(row[j], 0, 1), cmap="gray" if row.ndim == 3 else None, vmin=0, vmax=1)
            if i == 0 and column_titles is not None and j < len(column_titles):
                ax.set_title(str(column_titles[j]), fontsize=8)
        if row_titles is not None:
            axes[i, 0].set_ylabel(str(row_titles[i]), fontsize=9, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def plot_histories(histories, metrics=("loss",), title=None):
    """Curves of several Keras Histories (or .history dicts) on shared axes, one panel per
    metric: `histories` maps a label to a history; validation curves (val_*) are dashed."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for k, (label, history) in enumerate(histories.items()):
            logs = getattr(history, "history", history)
            for key, style in ((metric, "-"), (f"val_{metric}", "--")):
                if key in logs:
                    epochs = np.arange(1, len(logs[key]) + 1)
                    name = label if key == metric else f"{label} (val)"
                    ax.plot(epochs, logs[key], style, color=f"C{k}", marker="o", markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
