"""Ratios, summary lines and the table of a benchmark run."""

from .paths import DEPLOY_PATHS, TORCH_PATHS

MODES = ("infer", "train")


def add_ratios(rows, baselines):
    """Set each row's ``ratio`` (latency / its baseline's on the same path, mode and batch) and ``cpu_ratio``."""
    index = {(r["model"], r["path"], r["mode"], r["batch"]): r for r in rows}
    for r in rows:
        base = index.get((baselines.get(r["model"]), r["path"], r["mode"], r["batch"]))
        r["baseline"] = base["model"] if base else None
        r["ratio"] = r["median_ms"] / base["median_ms"] if base else None
        r["cpu_ratio"] = r["cpu_ms"] / base["cpu_ms"] if base else None


def _line(what, m, b):
    return {"what": what, "ratio": m["median_ms"] / b["median_ms"], "cpu_ratio": m["cpu_ms"] / b["cpu_ms"],
            "detail": f"{m['path']} {m['median_ms']:.1f} ms vs {b['path']} {b['median_ms']:.1f} ms"}


def summarize(rows, baselines):
    """Summary lines per mode and batch: each (model, baseline) pair's ratio on every path and fastest path vs
    fastest path; each model's fastest path vs the torch reference with its faster settings."""
    def pick(model, mode, batch, paths):
        cands = [r for r in rows if (r["model"], r["mode"], r["batch"]) == (model, mode, batch)
                 and r["path"].split("+")[0] in paths]
        return min(cands, key=lambda r: r["median_ms"]) if cands else None

    out = []
    for mode in MODES:
        for batch in dict.fromkeys(r["batch"] for r in rows):
            for model, base in baselines.items():
                for r in rows:
                    if (r["model"], r["mode"], r["batch"]) == (model, mode, batch) and r["ratio"] is not None:
                        b = next(x for x in rows if (x["model"], x["path"], x["mode"], x["batch"])
                                 == (base, r["path"], mode, batch))
                        out.append(_line(f"{model} / {base} {mode} bs{batch}, {r['path']}", r, b))
                m, b = pick(model, mode, batch, DEPLOY_PATHS), pick(base, mode, batch, DEPLOY_PATHS)
                if m and b:
                    out.append(_line(f"{model} / {base} {mode} bs{batch}, fastest path of each", m, b))
            for model in dict.fromkeys(r["model"] for r in rows):
                m, t = pick(model, mode, batch, DEPLOY_PATHS), pick(model, mode, batch, TORCH_PATHS)
                if m and t:
                    out.append(_line(f"{model} {mode} bs{batch}: fastest path / torch reference (faster settings)",
                                     m, t))
    return out


def fmt(v, spec):
    """``v`` formatted by ``spec``, ``-`` for None."""
    return "-" if v is None else format(v, spec)


def format_table(rows):
    """The rows as a Markdown table."""
    head = ["model", "path", "mode", "batch", "size", "median ms", "p90 ms", "img/s", "cpu ms", "peak MiB",
            "GMACs/img", "ratio", "cpu ratio", "baseline"]
    body = [[r["model"], r["path"], r["mode"], str(r["batch"]), str(r["size"]), fmt(r["median_ms"], ".1f"),
             fmt(r["p90_ms"], ".1f"), fmt(r["images_per_s"], ".1f"), fmt(r["cpu_ms"], ".1f"),
             fmt(r["peak_mib"], ".0f"), fmt(r["gmacs"], ".2f"), fmt(r["ratio"], ".3f"),
             fmt(r["cpu_ratio"], ".3f"), r["baseline"] or "-"] for r in rows]
    widths = [max(len(c) for c in col) for col in zip(head, *body)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in body]
    return "\n".join(lines)
