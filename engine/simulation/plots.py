"""Plots with matplotlib (optional extra ``sim``: ``pip install -e .[sim]``), Agg backend.

Chinese labels use a CJK font when one is installed (Debian: fonts-wqy-microhei or
fonts-noto-cjk); without one the labels fall back to English only.
"""

from __future__ import annotations

from pathlib import Path

CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC")


class PlotsUnavailable(RuntimeError):
    pass


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise PlotsUnavailable(
            "图表需要 matplotlib：pip install -e '.[sim]' / plots need the 'sim' extra: pip install -e '.[sim]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    cjk = next((n for n in CJK_FONTS if n in names), None)
    if cjk:
        plt.rcParams["font.sans-serif"] = [cjk, "DejaVu Sans"]
        plt.rcParams["font.family"] = "sans-serif"
        plt.rcParams["axes.unicode_minus"] = False
    return plt, cjk is not None


def _label(zh: str, en: str, cjk: bool) -> str:
    return f"{zh} / {en}" if cjk else en


def lead_time_histogram(result: dict, out: Path) -> list[Path]:
    """Lead time in working days: histogram of the simulated cases."""
    plt, cjk = _pyplot()
    days = [r["lead_working_days"] for r in result["case_rows"] if r["lead_working_days"] is not None]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.hist(days, bins=40, color="#3b7dd8")
    lt = result["lead_time"]["working_days"]
    for q, style in (("median", "-"), ("p90", "--")):
        if lt[q] is not None:
            ax.axvline(lt[q], color="#c0392b", linestyle=style, label=f"{q} {lt[q]:.1f}")
    ax.set_xlabel(_label("办理时长（工作日）", "lead time (working days)", cjk))
    ax.set_ylabel(_label("案件数", "cases", cjk))
    title = result.get("process_name") if cjk else result.get("process_key")
    ax.set_title(f"{title}: {len(days)}")
    ax.legend()
    return _save(fig, plt, out / "lead_time")


def waiting_working(result: dict, out: Path, top: int = 15) -> list[Path]:
    """Per activity: mean waiting vs working hours, stacked bars."""
    plt, cjk = _pyplot()
    acts = result["activities"][:top]
    labels = [(a["name"] if cjk else a["activity_id"]) for a in acts][::-1]
    wait = [a["waiting_hours"]["mean"] or 0 for a in acts][::-1]
    work = [a["working_hours"]["mean"] or 0 for a in acts][::-1]
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(acts) + 1.5))
    ax.barh(labels, wait, color="#e67e22", label=_label("等待", "waiting", cjk))
    ax.barh(labels, work, left=wait, color="#27ae60", label=_label("办理", "working", cjk))
    ax.set_xlabel(_label("平均小时", "mean hours", cjk))
    ax.legend()
    fig.tight_layout()
    return _save(fig, plt, out / "waiting_working")


def before_after(
    key: str, name: str, before: list[float], after: list[float], stem: Path, formats: tuple[str, ...] = ("png",)
) -> list[Path]:
    """Lead-time distributions of the sequential (pre-reform) and the reform diagram side by side,
    median and p90 of each marked and labelled."""
    from engine.simulation.results import percentile

    plt, cjk = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    data = [before, after]
    labels = [_label("改革前（串联）", "before (sequential)", cjk), _label("改革后", "after (reform)", cjk)]
    parts = ax.violinplot(data, positions=[1, 2], widths=0.8, showextrema=False)
    for body, colour in zip(parts["bodies"], ("#95a5a6", "#2e86de")):
        body.set_facecolor(colour)
        body.set_alpha(0.65)
    for x, values in zip((1, 2), data):
        for q, style in ((0.5, "-"), (0.9, "--")):
            v = percentile(values, q)
            ax.hlines(v, x - 0.38, x + 0.38, colors="#c0392b", linestyles=style, linewidth=1.6)
            ax.text(x + 0.4, v, f"{'median' if q == 0.5 else 'p90'} {v:.1f}", va="center", fontsize=9)
    ax.set_xticks([1, 2], labels)
    ax.set_xlim(0.4, 2.9)
    # a few reopened or overdue cases run 5-10x the median: cut the axis at the larger p99 so the
    # bulk, where median and p90 sit, stays readable; the label says so
    top = max(percentile(before, 0.99), percentile(after, 0.99)) * 1.1
    ax.set_ylim(0, top)
    ax.set_ylabel(
        _label("办理时长（工作日）", "lead time (working days)", cjk)
        + f"\n{_label('纵轴截至 p99', 'axis cut at p99', cjk)}"
    )
    m0, m1 = percentile(before, 0.5), percentile(after, 0.5)
    p0, p1 = percentile(before, 0.9), percentile(after, 0.9)
    cut = _label("缩短", "reduction", cjk)
    ax.set_title(
        f"{name if cjk else key}: {len(before)} / {len(after)} cases\n{cut}: median {_pct(m0, m1)}, p90 {_pct(p0, p1)}"
    )
    return _save(fig, plt, stem, formats)


def _pct(before: float, after: float) -> str:
    return f"{(before - after) / before:.0%}" if before else "n/a"


def _save(fig, plt, stem: Path, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix("." + f) for f in formats]
    fig.tight_layout()
    for p in paths:
        fig.savefig(p, dpi=110 if p.suffix == ".png" else "figure")
    plt.close(fig)
    return paths
