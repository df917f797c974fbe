"""Delivering alerts: a Slack-compatible webhook (httpx) and e-mail (SMTP, smtplib).

A delivery that fails raises ``AlertDeliveryError`` naming the channel and the host, never
the webhook URL's path or a password (a Slack webhook URL is itself a secret).
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from domain.alerts import Alert, email_message, slack_payload


class AlertDeliveryError(RuntimeError):
    pass


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "stripe-erp@localhost"
    recipients: tuple[str, ...] = ()
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0


def post_webhook(url: str, alert: Alert, timeout: float = 10.0) -> None:
    host = urlsplit(url).netloc.rsplit("@", 1)[-1]
    try:
        response = httpx.post(url, json=slack_payload(alert), timeout=timeout)
    except httpx.HTTPError as exc:
        raise AlertDeliveryError(f"alert webhook at {host}: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise AlertDeliveryError(f"alert webhook at {host} answered HTTP {response.status_code}")


def send_email(settings: SmtpSettings, alert: Alert) -> None:
    msg = email_message(alert, settings.sender, list(settings.recipients))
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise AlertDeliveryError(f"alert e-mail via {settings.host}:{settings.port}: "
                                 f"{type(exc).__name__}") from None
