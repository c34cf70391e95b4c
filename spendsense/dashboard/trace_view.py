"""A decision trace as a person reads it: a summary in words first, then folded details with labels, not keys.

The trace's shape is `spendsense.recommend.trace_contract`; every text reaching the page goes through `esc`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from spendsense.dashboard.render import badge, esc, fmt_cell, fmt_number, fmt_signal, is_missing, json_html
from spendsense.dashboard.timefmt import human_time

STAGE_LABELS = {"consent": "Consent", "eligibility": "Eligibility (offers)", "persona_match": "Persona match",
                "signal_triggers": "Signal triggers", "recency": "Recency (not shown lately)",
                "business_rules": "Ranking and caps", "rationale": "Rationale text", "tone": "Tone check"}
# what a stage's removals mean, in words ("9 items not eligible")
STAGE_CUT_WORDS = {"eligibility": "not eligible", "persona_match": "not for this persona",
                   "signal_triggers": "not relevant (none of their triggers holds)",
                   "recency": "shown too recently", "business_rules": "cut by the caps (they ranked lower)",
                   "rationale": "without a usable rationale", "tone": "failing the tone check"}
GUARDRAIL_LABELS = {"consent": "consent", "eligibility": "eligibility", "recency": "recency", "tone": "tone"}
PASSING_OUTCOMES = ("passed", "granted", "pass", "kept")
COMPONENT_LABELS = {"persona": "persona match", "signal": "signal match", "priority": "content priority",
                    "freshness": "freshness"}
OP_WORDS = {">=": "≥", "<=": "≤", "==": "=", "!=": "≠", ">": ">", "<": "<"}
EXAMPLES = 1  # removed items quoted by name in the summary, per stage


@cache
def _phrase_labels() -> dict[str, str]:
    """Operator wording of each persona signal (content/signal_phrases.yaml); empty when it cannot load."""
    try:
        from spendsense.personas import load_signal_phrases

        return {name: s.label for name, s in load_signal_phrases().signals.items()}
    except Exception:  # noqa: BLE001 - labels are a nicety; the signal name is the fallback
        return {}


def signal_label(name: object) -> str:
    """A signal's wording for people: 'highest card utilization', else its name with spaces."""
    text = str(name)
    return _phrase_labels().get(text) or text.replace("_", " ")


def _stages(trace: Mapping) -> dict[str, dict]:
    """Stages by name, whether stored as a mapping (the contract) or as a list of records."""
    stages = trace.get("stages") or {}
    if isinstance(stages, list):
        return {str(s.get("stage")): dict(s) for s in stages if isinstance(s, Mapping)}
    return {k: dict(v) for k, v in stages.items() if isinstance(v, Mapping)}


def _guardrails(trace: Mapping) -> dict[str, dict]:
    """Guardrail outcomes by name (mapping or list of records)."""
    rails = trace.get("guardrails") or {}
    if isinstance(rails, list):
        return {str(g.get("name")): dict(g) for g in rails if isinstance(g, Mapping)}
    return {k: dict(v) for k, v in rails.items() if isinstance(v, Mapping)}


def removed_items(stage: Mapping) -> list[tuple[str, str]]:
    """(item, reason) pairs a stage removed, groups of the trigger stage expanded."""
    out = []
    for r in stage.get("filtered_out") or []:
        if isinstance(r, Mapping) and isinstance(r.get("items"), list):
            out += [(str(i), str(r.get("reason"))) for i in r["items"]]
        elif isinstance(r, Mapping):
            out.append((str(r.get("item_id")), str(r.get("reason"))))
    return out


def _admitted_text(admitted: str) -> str:
    """'income_cv = 0.43 (>= 0.25, clears it by 0.18)' with the signal's name turned into its label."""
    name, sep, rest = admitted.partition(" = ")
    return f"{signal_label(name)} {sep.strip()} {rest}" if sep and " " not in name else admitted


def trace_summary_lines(trace: Mapping) -> list[str]:
    """The trace in plain sentences: why admitted, score and rank, guardrails, what was filtered out and why."""
    stages, rails = _stages(trace), _guardrails(trace)
    lines = []
    triggers = stages.get("signal_triggers", {})
    admitted = triggers.get("admitted_by") or []
    if admitted:
        lines.append("Admitted because " + "; ".join(_admitted_text(str(a)) for a in admitted) + ".")
    elif triggers:
        lines.append("Admitted as a general-audience item (it has no signal trigger; at most one per window).")
    persona = (trace.get("inputs") or {}).get("persona") or {}
    if persona.get("persona_name") or persona.get("persona_id"):
        match = stages.get("persona_match", {}).get("reason")
        lines.append(f"Persona: {persona.get('persona_name') or persona.get('persona_id')}"
                     + (f" ({match})." if match else "."))
    score = trace.get("score") or {}
    if not is_missing(score.get("total")):
        comps = score.get("components") or {}
        weights = score.get("weights") or {}
        parts = [f"{COMPONENT_LABELS.get(k, k)} {fmt_number(v, 2)} × {fmt_number(weights.get(k), 1)}"
                 for k, v in comps.items() if not is_missing(v) and k in weights]
        rank = stages.get("business_rules", {}).get("reason") or f"rank {score.get('rank')}"
        lines.append(f"Score {fmt_number(score['total'], 2)}, {rank}"
                     + (f" — {', '.join(parts)}." if parts else "."))
    if rails:
        failed = [f"{GUARDRAIL_LABELS.get(k, k)} ({g.get('outcome')}: {g.get('detail')})" for k, g in rails.items()
                  if str(g.get("outcome")).lower() not in PASSING_OUTCOMES]
        passed = [GUARDRAIL_LABELS.get(k, k) for k, g in rails.items()
                  if str(g.get("outcome")).lower() in PASSING_OUTCOMES]
        text = f"Guardrails passed: {', '.join(passed)}." if passed else ""
        if failed:
            text += (" " if text else "") + "Guardrails not passed: " + "; ".join(failed) + "."
        lines.append(text)
    cuts = []
    for name, stage in stages.items():
        removed = removed_items(stage)
        if not removed:
            continue
        examples = "; ".join(f"{item}: {why}" for item, why in removed[:EXAMPLES]
                             if name != "signal_triggers")
        more = f", e.g. {examples}" + ("…" if len(removed) > EXAMPLES else "") if examples else ""
        cuts.append(f"{len(removed)} {STAGE_CUT_WORDS.get(name, 'removed at ' + name)}{more}")
    lines.append("Filtered out for this user: " + "; ".join(cuts) + "." if cuts
                 else "Nothing else was filtered out for this user.")
    change = (trace.get("what_would_change") or {}).get("text")
    if change:
        lines.append(f"What would change this: {change}.")
    return lines


def trace_summary_html(trace: object) -> str:
    """The summary sentences as a short list (escaped)."""
    if not isinstance(trace, Mapping):
        return '<div class="ss-muted">no decision trace stored for this recommendation</div>'
    items = "".join(f"<li>{esc(line)}</li>" for line in trace_summary_lines(trace))
    return f'<ul class="ss-trace-summary">{items}</ul>'


def _fold(title: str, body: str, css: str = "") -> str:
    return f'<details class="ss-fold {esc(css)}"><summary>{esc(title)}</summary>{body}</details>'


def stages_table_html(trace: Mapping) -> str:
    """Every stage with its outcome and reason; what it removed folded beneath, one line per item."""
    rows = []
    for name, stage in _stages(trace).items():
        removed = removed_items(stage)
        listing = ("".join(f"<li><b>{esc(i)}</b>: {esc(w)}</li>" for i, w in removed))
        cut = _fold(f"{len(removed)} removed", f"<ul>{listing}</ul>", "ss-removed") if removed else \
            '<span class="ss-muted">none</span>'
        outcome = stage.get("passed")
        rows.append(f"<tr><td>{esc(STAGE_LABELS.get(name, name.replace('_', ' ')))}</td>"
                    f"<td>{badge('passed', 'pass') if outcome else badge('failed', 'fail')}</td>"
                    f"<td>{esc(fmt_cell(stage.get('reason')))}</td><td>{cut}</td></tr>")
    return ('<table class="ss-table ss-stages"><thead><tr><th>Stage</th><th>Outcome</th><th>Why</th>'
            f'<th>Removed here</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def guardrails_table_html(trace: Mapping) -> str:
    """Guardrail outcomes with their detail."""
    rows = "".join(
        f"<tr><td>{esc(GUARDRAIL_LABELS.get(k, k))}</td><td>"
        f"{badge(g.get('outcome'), 'pass' if str(g.get('outcome')).lower() in PASSING_OUTCOMES else 'fail')}</td>"
        f"<td>{esc(fmt_cell(g.get('detail')))}</td></tr>" for k, g in _guardrails(trace).items())
    return ('<table class="ss-table ss-guardrails"><thead><tr><th>Guardrail</th><th>Outcome</th><th>Detail</th>'
            f'</tr></thead><tbody>{rows}</tbody></table>')


def inputs_html(trace: Mapping) -> str:
    """The window's signals (labelled, formatted) and the eligibility facts the decision used."""
    inputs = trace.get("inputs") or {}
    signals = inputs.get("signals") or {}
    rows = "".join(f"<tr><th>{esc(signal_label(k))}</th><td>{esc(fmt_signal(k, v))}</td></tr>"
                   for k, v in signals.items())
    facts = inputs.get("eligibility_features") or {}
    labels = {"credit_score": "credit score", "annual_income": "annual income",
              "max_utilization": "highest card utilization", "account_subtypes": "accounts held"}
    elig = "".join(f"<tr><th>{esc(labels.get(k, k.replace('_', ' ')))}</th><td>"
                   f"{esc(fmt_signal(k, v) if not isinstance(v, list) else fmt_cell(v))}</td></tr>"
                   for k, v in facts.items())
    consent = inputs.get("consent") or {}
    when = f", {human_time(consent.get('occurred_at'))}" if consent.get("occurred_at") else ""
    return (f'<div class="ss-cols"><div><table class="ss-table ss-inputs">{rows}</table></div>'
            f'<div><table class="ss-table">{elig}<tr><th>consent</th><td>{esc(consent.get("status"))}{esc(when)}'
            '</td></tr></table></div></div>')


def versions_html(trace: Mapping) -> str:
    """Code, config and content versions in words (an uncommitted working tree said so, not `git_dirty`)."""
    v = trace.get("versions") or {}
    code = v.get("code")
    lines = []
    if isinstance(code, Mapping):
        if code.get("git_commit"):
            dirty = " (with uncommitted changes in the working tree)" if code.get("git_dirty") else ""
            lines.append(f"code: commit {str(code['git_commit'])[:10]}{dirty}")
        if code.get("spendsense") or code.get("version"):
            lines.append(f"spendsense version {code.get('spendsense') or code.get('version')}")
    elif code:
        lines.append(f"code: {code}")
    if v.get("config"):
        lines.append(f"configuration {v['config']}")
    if v.get("content"):
        lines.append(f"content catalogue {v['content']}")
    created = trace.get("created_at")
    if created:
        lines.append(f"decided {human_time(created)}")
    return "<ul>" + "".join(f"<li>{esc(t)}</li>" for t in lines) + "</ul>"


def trace_html(trace: object) -> str:
    """The whole trace: the summary, then each part folded (stages, guardrails, inputs, rationale, versions)."""
    return trace_summary_html(trace) + trace_details_html(trace)


def trace_details_html(trace: object) -> str:
    """The trace's parts, each folded: stages, guardrails, inputs, rationale, versions."""
    if not isinstance(trace, Mapping):
        return "" if trace is None else json_html(trace)
    rationale = trace.get("rationale") or {}
    template = (f"template {rationale.get('template_id') or trace.get('template_id')}"
                f" v{rationale.get('template_version')}")
    rewritten = rationale.get("text_before_rewrite")
    rationale_body = (f"<div>{esc(template)}</div>"
                      + (f"<div>Text before the tone rewrite: {esc(rewritten)}</div>" if rewritten else "")
                      + "".join(f"<div>{esc(signal_label(k))}: {esc(fmt_signal(k, val))}</div>"
                                for k, val in (rationale.get("values") or {}).items()))
    return (_fold("Filter stages", stages_table_html(trace), "ss-trace-stages")
            + _fold("Guardrails", guardrails_table_html(trace), "ss-trace-guardrails")
            + _fold("Inputs: signals and eligibility facts", inputs_html(trace), "ss-trace-inputs")
            + _fold("Rationale template", rationale_body, "ss-trace-rationale")
            + _fold("Versions", versions_html(trace), "ss-trace-versions"))
