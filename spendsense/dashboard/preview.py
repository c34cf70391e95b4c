"""Customer preview: what the end user would see (approved items of both windows, merged), and an HTML email."""

from __future__ import annotations

import base64
import datetime as dt
import os
import tempfile
from pathlib import Path

import ipywidgets as widgets

from spendsense import paths
from spendsense.dashboard.access import CustomerPreview, DashboardData
from spendsense.dashboard.base import View
from spendsense.dashboard.render import css_token, esc, is_missing
from spendsense.dashboard.timefmt import human_time

KIND_SECTIONS = (("education", "Reading picked for you"), ("offer", "Offers you may qualify for"))
EMAIL_CSS = """
body { margin: 0; background: #f4f6f8; font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: #1f2933; }
.ss-mail { max-width: 620px; margin: 0 auto; background: #ffffff; padding: 24px 28px; }
.ss-mail h1 { font-size: 20px; margin: 0 0 6px 0; }
.ss-mail h2 { font-size: 15px; margin: 20px 0 8px 0; color: #334e68; }
.ss-item { border: 1px solid #d9e2ec; border-radius: 8px; padding: 12px 14px; margin: 8px 0; }
.ss-item-title { font-weight: 650; font-size: 15px; }
.ss-item-summary { margin-top: 4px; font-size: 13.5px; line-height: 1.45; color: #334e68; }
.ss-item-why { margin-top: 6px; font-size: 13.5px; line-height: 1.45; }
.ss-item-kind { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: #627d98; }
.ss-mail-disclosure { margin-top: 20px; font-size: 12px; color: #52606d; font-style: italic; }
.ss-mail-empty { padding: 14px; background: #fff3c4; border-radius: 6px; }
.ss-mail-foot { margin-top: 14px; font-size: 11px; color: #9aa5b1; }
"""


def preview_body_html(preview: CustomerPreview) -> str:
    """The customer-facing body: greeting, items by section, the disclosure; or why nothing is shown."""
    parts = [f'<div class="ss-mail ss-preview-{esc(css_token(preview.consent_status))}">',
             f"<h1>Hi {esc(preview.greeting_name)},</h1>"]
    if preview.consent_status != "granted" or not len(preview.items):
        parts.append(f'<div class="ss-mail-empty">{esc(preview.message or "Nothing to show.")}</div>')
        parts.append("</div>")
        return "".join(parts)
    parts.append("<div>Here are a few things we put together from your recent account activity.</div>")
    for kind, title in KIND_SECTIONS:
        items = preview.items[preview.items["kind"] == kind]
        if not len(items):
            continue
        parts.append(f"<h2>{esc(title)}</h2>")
        for item in items.to_dict("records"):
            why = item.get("rationale")
            why_html = (f'<div class="ss-item-why"><b>Why you are seeing this:</b> {esc(why)}</div>'
                        if not is_missing(why) and why
                        else '<div class="ss-item-why">Chosen for you by our team.</div>')
            summary = item.get("summary")
            summary_html = (f'<div class="ss-item-summary">{esc(summary)}</div>'
                            if not is_missing(summary) and summary else "")
            parts.append(f'<div class="ss-item ss-item-{esc(css_token(item["item_id"]))}">'
                         f'<div class="ss-item-kind">{esc("Learn" if kind == "education" else "Partner offer")}</div>'
                         f'<div class="ss-item-title">{esc(item.get("title"))}</div>{summary_html}{why_html}</div>')
    if preview.what_would_change:
        parts.append("<h2>What could change what you see</h2>")
        parts += [f'<div class="ss-item-why ss-what-would-change">{esc(t)}</div>' for t in preview.what_would_change]
    parts.append(f'<div class="ss-mail-disclosure">{esc(preview.disclosure)}</div>')
    parts.append("</div>")
    return "".join(parts)


def email_html(preview: CustomerPreview) -> str:
    """A standalone HTML email preview (inline CSS, no scripts, a CSP that forbids any)."""
    generated = human_time(dt.datetime.now(dt.UTC))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc('Your SpendSense picks')}</title><style>{EMAIL_CSS}</style></head><body>"
        f"{preview_body_html(preview)}"
        f'<div class="ss-mail ss-mail-foot">{esc(f"Preview for {preview.user_id}, run {preview.run_id}, generated {generated}. Not sent.")}</div>'
        "</body></html>\n")


def previews_dir() -> Path:
    """Where email previews are written (env SPENDSENSE_PREVIEWS_DIR, default reports/previews)."""
    return Path(os.environ.get("SPENDSENSE_PREVIEWS_DIR") or paths.REPORTS_DIR / "previews")


def export_preview(data: DashboardData, user_id: str, out_dir: Path | None = None) -> Path:
    """Write the customer preview as an HTML email file (atomically) and audit the export; returns the path."""
    preview = data.customer_preview(user_id)
    out_dir = Path(out_dir) if out_dir else previews_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{css_token(user_id)}_{css_token(preview.run_id)}.html"
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".preview-", suffix=".html")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(email_html(preview))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    data.audit("preview.export", user_id, {"run_id": preview.run_id, "path": str(target),
                                           "items": len(preview.items), "consent": preview.consent_status})
    return target


def download_link_html(path: Path) -> str:
    """A link that downloads the exported file in the browser (a data: URL), and where it was written."""
    payload = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<a class="ss-download" download="{esc(Path(path).name)}" href="data:text/html;base64,{payload}">'
            f'Download {esc(Path(path).name)}</a> <span class="ss-muted">(also written to {esc(path)})</span>')


class PreviewView(View):
    """The customer's view of the selected user, refreshed after every review or consent change."""

    css_class = "ss-preview-view"

    def __init__(self, data, out_dir: Path | None = None, **kwargs):
        super().__init__(data, **kwargs)
        self.out_dir = out_dir
        self.notes = widgets.HTML()
        self.notes.add_class("ss-preview-notes")
        self.body = widgets.HTML()
        self.body.add_class("ss-preview")
        self.export = widgets.Button(description="Export HTML email preview",
                                     layout=widgets.Layout(width="auto"))
        self.export.add_class("ss-export")
        self.export.on_click(lambda _: self.export_now())
        self.exported = widgets.HTML()
        self.exported.add_class("ss-export-path")
        self.style = widgets.HTML(f"<style>{EMAIL_CSS.replace('body {', '.ss-preview-frame {')}</style>")
        self.children = [self.style, self.message, self.notes, self.body, widgets.HBox([self.export, self.exported])]
        self.preview: CustomerPreview | None = None

    def render(self) -> None:
        if not self.user_id:
            self.body.value = '<div class="ss-muted">Pick a user on the left.</div>'
            self.notes.value = ""
            return
        self.preview = self.data.customer_preview(self.user_id)
        self.exported.value = ""
        self.notes.value = "".join(f'<div class="ss-muted">{esc(n)}</div>' for n in self.preview.notes)
        self.body.value = f'<div class="ss-preview-frame">{preview_body_html(self.preview)}</div>'

    def export_now(self) -> None:
        """Export the preview and show where it went."""
        try:
            path = export_preview(self.data, self.user_id, self.out_dir)
        except Exception as exc:  # noqa: BLE001
            self.show_error(exc)
            return
        self.exported.value = download_link_html(path)
