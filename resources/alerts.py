"""Where alerts go (``ALERT_*`` environment variables): a Slack-compatible webhook and/or
e-mail over SMTP. With neither set, the alert sensors skip and say so."""
from __future__ import annotations

import os

from dagster import ConfigurableResource
from pydantic import Field

from connectors.alerts import SmtpSettings, post_webhook, send_email
from domain.alerts import Alert, secret_values

# resource field -> environment variable
ALERT_ENV = {
    "webhook_url": "ALERT_WEBHOOK_URL", "smtp_host": "ALERT_SMTP_HOST",
    "smtp_port": "ALERT_SMTP_PORT", "smtp_from": "ALERT_SMTP_FROM", "smtp_to": "ALERT_SMTP_TO",
    "smtp_username": "ALERT_SMTP_USERNAME", "smtp_password": "ALERT_SMTP_PASSWORD",
    "smtp_starttls": "ALERT_SMTP_STARTTLS",
    "dead_letter_age_minutes": "ALERT_DEAD_LETTER_AGE_MINUTES",
    "dagster_url": "ALERT_DAGSTER_URL",
}
ALERT_INTEGER = {"smtp_port", "dead_letter_age_minutes"}


class AlertResource(ConfigurableResource):
    """Alert channels. Secrets (the webhook URL, the SMTP password) are EnvVars."""

    webhook_url: str = Field(default="", description="ALERT_WEBHOOK_URL: Slack incoming "
                             "webhook or any receiver of JSON POSTs")
    smtp_host: str = Field(default="", description="ALERT_SMTP_HOST")
    smtp_port: int = 25
    smtp_from: str = "stripe-erp@localhost"
    smtp_to: str = Field(default="", description="ALERT_SMTP_TO: comma-separated addresses")
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: str = "false"
    dead_letter_age_minutes: int = Field(default=60, description="ALERT_DEAD_LETTER_AGE_MINUTES: "
                                         "alert on dead letters open longer than this")
    dagster_url: str = Field(default="http://127.0.0.1:3000",
                             description="ALERT_DAGSTER_URL: links in alerts")

    def channels(self) -> list[str]:
        out = ["webhook"] if self.webhook_url else []
        if self.smtp_host and self.smtp_to:
            out.append("email")
        return out

    def send(self, alert: Alert) -> list[str]:
        """Deliver to every configured channel, secrets redacted; the channels used."""
        secrets = secret_values(dict(os.environ))
        secrets += [s for s in (self.webhook_url, self.smtp_password) if s]
        clean = alert.redacted(sorted(set(secrets), key=len, reverse=True))
        sent = []
        if self.webhook_url:
            post_webhook(self.webhook_url, clean)
            sent.append("webhook")
        if self.smtp_host and self.smtp_to:
            send_email(SmtpSettings(
                host=self.smtp_host, port=self.smtp_port, sender=self.smtp_from,
                recipients=tuple(a.strip() for a in self.smtp_to.split(",") if a.strip()),
                username=self.smtp_username, password=self.smtp_password,
                starttls=self.smtp_starttls.strip().lower() in ("1", "true", "yes")), clean)
            sent.append("email")
        return sent

    def run_link(self, run_id: str) -> str:
        return f"{self.dagster_url.rstrip('/')}/runs/{run_id}"
