"""The decision report as Markdown or as one self-contained HTML file with its charts.

The HTML embeds plotly.js once (no network needed to open it) and escapes every
value that came from data or models, so a report cannot run scripts it was not
built with. API keys never appear: the report is built from stored records, and
the registry stores only the names of key variables.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from core.compare.decision import Requirements
from core.models import kinds
from core.report.data_history import history_markdown
from core.report.summary import ladder_summary


def _pct(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x * 100:.1f}%"


def _ci(e: dict) -> str:
    return f"{_pct(e['score'])} [{_pct(e['ci_low'])}, {_pct(e['ci_high'])}]"


def markdown(s: dict) -> str:
    out = [f"# Tuning Ladder decision report: {s['dataset']}", "",
           f"**Recommendation.** {s['recommendation']}", ""]
    d = s.get("data")
    out += ["## Data quality", ""]
    if d:
        out.append(f"Version {d['version']}: {d['rows']} rows, task {d['task']}, "
                   f"split {d['split'] or 'not made yet'}.")
        out += history_markdown(d)
    else:
        out.append("No dataset.")
    out += ["", "## 1 · Prompt Lab", ""]
    lab = s.get("prompt_lab")
    if lab and lab["best"]:
        n = len(lab["variants"])
        out += [f"Run #{lab['run_id']} compared {n} variant{'s' if n != 1 else ''} on model "
                f"`{lab['model']}`. Best variant: **{lab['best']['name']}** "
                f"{_ci(lab['best'])}.", f"{lab['verdict'] or ''}", "",
                "| variant | score [95% CI] | consistency | invalid | p50 ms | $/1k |",
                "|---|---|---|---|---|---|"]
        for e in lab["variants"]:
            out.append(f"| {e['name']} | {_ci(e)} | {_pct(e['consistency'])} | "
                       f"{_pct(e['invalid_rate'])} | {e['latency_p50_ms']:.0f} | "
                       f"{_money(e['cost_per_1k_usd'])} |")
        out += labels_markdown(lab.get("labels"))
    else:
        out.append("Not run yet.")
    out += ["", "## 2 · Dynamic prompts", ""]
    dyn = s.get("dynamic")
    if dyn and dyn.get("gain") is not None:
        out.append(f"{dyn['dynamic']} vs {dyn['static']}: {dyn['gain'] * 100:+.1f} points "
                   f"(95% CI {dyn['gain_ci'][0] * 100:+.1f} to {dyn['gain_ci'][1] * 100:+.1f}). "
                   f"{dyn['verdict']}")
    else:
        out.append("Not run yet.")
    out += ["", "## 3 · Model comparison", ""]
    comp = s.get("comparison")
    if comp:
        out += ["| model | variant | score [95% CI] | p50 ms | p95 ms | $/1k requests |",
                "|---|---|---|---|---|---|"]
        for m in comp["models"]:
            k = kinds.find(m.get("kind"))
            variant = m["variant"] or (f"({k.label.lower()}, no prompt)"
                                       if k is not None and not k.prompted else "—")
            out.append(f"| {m['model']} | {variant} | {_ci(m)} | {m['latency_p50_ms']:.0f} "
                       f"| {m['latency_p95_ms']:.0f} | {_money(m['cost_per_1k_usd'])} |")
        dec = comp["decision"]
        out += ["", f"At {comp['volume_per_month']:,.0f} requests/month: {dec['reason']}"]
        if dec.get("value"):
            out += ["", "Expected net value per month (the recommendation maximises it):", "",
                    "| option | accuracy | monthly cost | net value / month [95% CI] | "
                    "break-even accuracy |", "|---|---|---|---|---|"]
            out += [value_row(o) for o in dec["value"]["options"]]
            out.append("")
        out += [f"- {b['text']}" for b in dec["break_even"]]
        out += [f"- Teacher labels: {d['text']}" for d in comp.get("distillation") or []]
        if dec.get("significance"):
            out.append(f"- Significance: {dec['significance']['verdict']}")
        out += ["", "When fine-tuning tends to pay, checked against your numbers:", ""]
        out += [f"- {'✔' if g['holds'] else '✘'} {g['criterion']}: {g['detail']}"
                for g in dec["guidance"]]
    else:
        out.append("Not run yet.")
    out += ["", "## 4 · Fine-tuning", ""]
    ft = s.get("finetune")
    if ft and ft.get("before") and ft.get("after"):
        out.append(f"Run {ft['run_id']} ({ft['base_model']} → `{ft['model_id']}`): before "
                   f"{_ci(ft['before'])}, after {_ci(ft['after'])}.")
    else:
        out.append("No finished fine-tune run yet.")
    return "\n".join(out) + "\n"


def labels_markdown(lab: dict | None) -> list[str]:
    """Per-label precision/recall (the weakest ten) and the most confused pairs."""
    if not lab:
        return []
    out = ["", f"{lab['labels']} labels; the weakest ten for **{lab['variant']}**:", "",
           "| label | precision | recall | F1 | rows |", "|---|---|---|---|---|"]
    out += [f"| {m['label']} | {m['precision']:.0%} | {m['recall']:.0%} | {m['f1']:.0%} | "
            f"{m['support']} |" for m in lab["worst"]]
    if lab["confused"]:
        out += ["", "Most confused pairs:", "", "| true label | answered | rows |",
                "|---|---|---|"]
        out += [f"| {c['true label']} | {c['answered']} | {c['rows']} |"
                for c in lab["confused"]]
    return out


def value_row(o: dict) -> str:
    """One option's line of the net-value table (Markdown)."""
    lo, hi = o["net_value_ci"]
    be = o["break_even_accuracy"]
    be_s = ("—" if be is None else _pct(be) if o["break_even_possible"] else "out of reach")
    return (f"| {o['name']}{'' if o['eligible'] else ' (not eligible)'} | {_pct(o['accuracy'])} "
            f"| ${o['monthly_cost_usd']:,.2f} | ${o['net_value_month']:,.2f} "
            f"[${lo:,.2f}, ${hi:,.2f}] | {be_s} |")


def _money(x) -> str:
    return "—" if x is None else f"${x:.4f}"


def html_report(ws, s: dict, req: Requirements) -> str:
    import plotly.io as pio

    from core.compare.service import latencies_ms, options_from_run
    from core.report.charts import (
        latency_box,
        leaderboard_bars,
        monthly_cost,
        net_value_bars,
        score_vs_cost,
    )

    figs = []
    if s.get("prompt_lab") and s["prompt_lab"]["variants"]:
        figs.append(leaderboard_bars(s["prompt_lab"]["variants"]))
    if s.get("comparison"):
        rid = s["comparison"]["run_id"]
        opts = options_from_run(ws, rid)
        figs += [score_vs_cost(opts), monthly_cost(opts, req.volume_per_month,
                                                   req.horizon_months),
                 latency_box(latencies_ms(ws, rid))]
        if s["comparison"]["decision"].get("value"):
            figs.append(net_value_bars(s["comparison"]["decision"]["value"]))
    for f in figs:  # an explicit template: inside Streamlit the default one is Streamlit's own
        f.update_layout(template="plotly_white")
    parts = [pio.to_html(f, full_html=False, include_plotlyjs=(i == 0))
             for i, f in enumerate(figs)]
    body = _md_to_html(markdown(s))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Tuning Ladder report"
            "</title><style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em "
            "auto;padding:0 1em;color:#222}table{border-collapse:collapse}td,th{border:1px solid "
            "#ccc;padding:4px 8px}h1{font-size:1.6em}</style></head><body>" + body
            + "<h2>Charts</h2>" + ("".join(parts) or "<p>No charts yet.</p>")
            + "</body></html>")


def _md_to_html(md: str) -> str:
    """The small Markdown subset the report uses: headings, tables, bullets, bold, code."""
    import re

    out, table = [], []

    def inline(t: str) -> str:
        t = html.escape(t)
        t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", t)

    def flush():
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= {"-"}]
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
            out.append("<table>" + "".join(
                "<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{inline(c)}</{'th' if i == 0 else 'td'}>"
                                 for c in row) + "</tr>" for i, row in enumerate(cells)) + "</table>")
            table.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("# "):
            out.append(f"<h1>{inline(line[2:])}</h1>")
        elif line.startswith("## "):
            out.append(f"<h2>{inline(line[3:])}</h2>")
        elif line.startswith("- "):
            out.append(f"<li>{inline(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    flush()
    return "\n".join(out)


def results_csv(ws, s: dict) -> bytes:
    """Every leaderboard line of the report as CSV (formula-escaped)."""
    import pandas as pd

    from core.datasets.export import to_bytes

    rows = []
    for section in ("prompt_lab", "dynamic"):
        for e in (s.get(section) or {}).get("variants", []) or []:
            rows.append({"section": section, **{k: e.get(k) for k in (
                "model", "name", "n", "score", "ci_low", "ci_high", "consistency",
                "invalid_rate", "latency_p50_ms", "latency_p95_ms", "cost_per_1k_usd")}})
    for m in (s.get("comparison") or {}).get("models", []):
        rows.append({"section": "comparison", "name": m["variant"], **{k: m.get(k) for k in (
            "model", "n", "score", "ci_low", "ci_high", "consistency", "invalid_rate",
            "latency_p50_ms", "latency_p95_ms", "cost_per_1k_usd")}})
    return to_bytes(pd.DataFrame(rows), "csv")


def write_report(ws, dataset: str, out: Path, req: Requirements) -> Path:
    """Write the decision report of `dataset` to `out` (.md or .html). An unknown dataset
    or a folder that does not exist is refused (DatasetError) before anything is written."""
    from core.datasets.errors import DatasetError
    from core.datasets.versions import get_version

    get_version(ws, dataset)  # an unknown or deleted dataset: its own message
    if not out.parent.is_dir():
        raise DatasetError(f"the folder {out.parent} does not exist; create it or choose "
                           "another --out.")
    s = ladder_summary(ws, dataset, req)
    text = html_report(ws, s, req) if out.suffix.lower() == ".html" else markdown(s)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
