"""Alerts a finance-operations team acts on: what failed, in which ERP, for which document,
with the system's own message. Pure: building and redacting the message; delivery is in
connectors/alerts.py and the sensors that raise alerts in sensors/alerts.py.

Two renderings of one alert: Slack-compatible JSON (``text`` plus ``blocks``, accepted by a
Slack incoming webhook and by any JSON receiver) and a plain-text e-mail.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage

MAX_TEXT = 3000            # Slack truncates a section's text at 3,000 characters
REDACTED = "[redacted]"
# environment variable names whose values are secrets
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|_KEY$|WEBHOOK_URL)", re.I)
MIN_SECRET = 6             # shorter values would redact ordinary words


@dataclass(frozen=True)
class Alert:
    """One alert: a title, what it concerns (label -> value) and the system's message."""

    kind: str                                   # run_failure | check_failure | dead_letters
    title: str
    fields: dict[str, str] = field(default_factory=dict)
    message: str = ""
    link: str = ""

    def redacted(self, secrets: list[str]) -> Alert:
        return Alert(self.kind, redact(self.title, secrets),
                     {k: redact(v, secrets) for k, v in self.fields.items()},
                     redact(self.message, secrets), redact(self.link, secrets))

    def text(self) -> str:
        lines = [self.title]
        lines += [f"{label}: {value}" for label, value in self.fields.items() if value]
        if self.message:
            lines += ["", self.message]
        if self.link:
            lines += ["", self.link]
        return clip("\n".join(lines))


def secret_values(environ: dict[str, str]) -> list[str]:
    """The values of the secret-looking variables, longest first (so a secret that contains
    another is redacted whole)."""
    values = {v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Clipped for the channel, saying so (never cut silently)."""
    if len(text) <= limit:
        return text
    note = f"\n… ({len(text) - limit + 40} more characters in the Dagster UI)"
    return text[:limit - len(note)] + note


def slack_payload(alert: Alert) -> dict:
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"}
              for label, value in alert.fields.items() if value][:10]   # Slack: at most 10
    blocks: list[dict] = [{"type": "header",
                           "text": {"type": "plain_text", "text": alert.title[:150]}}]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if alert.message:
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": clip(f"```{alert.message}```")}})
    if alert.link:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": alert.link}]})
    return {"text": alert.text(), "blocks": blocks, "alert_kind": alert.kind}


def email_message(alert: Alert, sender: str, recipients: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = alert.title[:200]
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg.set_content(alert.text())
    return msg
