"""Alert texts: secrets redacted whole, long messages clipped saying so, Slack's limits kept."""
from __future__ import annotations

from domain.alerts import MAX_TEXT, Alert, clip, secret_values, slack_payload


def test_secret_values_are_taken_from_secret_looking_variables_longest_first() -> None:
    env = {"EPICOR_PASSWORD": "pw-123456", "STRIPE_API_KEY": "sk_test_abcdef",
           "ALERT_WEBHOOK_URL": "https://hooks.example/T/B/xyz123", "ERP_KIND": "epicor",
           "TIMS_CLIENT_SECRET": "pw-123456-longer", "SHORT_TOKEN": "abc"}
    assert secret_values(env) == ["https://hooks.example/T/B/xyz123", "pw-123456-longer",
                                  "sk_test_abcdef", "pw-123456"]


def test_an_alert_is_redacted_in_every_part() -> None:
    alert = Alert("run_failure", "Run failed with sk_test_abcdef",
                  {"ERP URL": "https://u:pw-123456@erp"}, "auth pw-123456-longer refused",
                  "https://hooks.example/T/B/xyz123")
    clean = alert.redacted(secret_values({"A_PASSWORD": "pw-123456",
                                          "B_SECRET": "pw-123456-longer",
                                          "STRIPE_API_KEY": "sk_test_abcdef",
                                          "ALERT_WEBHOOK_URL": "https://hooks.example/T/B/xyz123"}))
    text = str(slack_payload(clean))
    assert "pw-123456" not in text and "sk_test_abcdef" not in text and "xyz123" not in text
    assert "auth [redacted] refused" in clean.message


def test_long_messages_are_clipped_saying_how_much_is_left_out() -> None:
    text = clip("x" * (MAX_TEXT * 2))
    assert len(text) <= MAX_TEXT and "more characters in the Dagster UI" in text
    payload = slack_payload(Alert("dead_letters", "t" * 400, {str(i): "v" for i in range(12)},
                                  "m" * 5000))
    assert len(payload["blocks"][0]["text"]["text"]) == 150
    assert len(payload["blocks"][1]["fields"]) == 10
