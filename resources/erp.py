"""The ERP resource: which ERP (``ERP_KIND``), where, and its credentials, from the environment.

Secrets (client secret, API key, password) are ``EnvVar``s: the UI shows their
names only, and adapters never put them in errors or logs.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource, Failure
from pydantic import Field

from connectors.erp import ErpAdapter, ErpUnavailable, make_adapter
from domain.mapping import Mapping, load_mapping

# resource field -> environment variable
ERP_ENV = {
    "kind": "ERP_KIND", "base_url": "ERP_BASE_URL", "mapping_file": "ERP_MAPPING_FILE",
    "tims_client_id": "TIMS_CLIENT_ID", "tims_client_secret": "TIMS_CLIENT_SECRET",
    "infor_ionapi_file": "INFOR_IONAPI_FILE", "infor_company": "INFOR_COMPANY",
    "infor_division": "INFOR_DIVISION",
    "epicor_api_key": "EPICOR_API_KEY", "epicor_username": "EPICOR_USERNAME",
    "epicor_password": "EPICOR_PASSWORD", "epicor_company": "EPICOR_COMPANY",
    # optional, for real instances whose setup differs from the sandboxes' defaults
    "infor_customer_template": "INFOR_CUSTOMER_TEMPLATE", "infor_order_type": "INFOR_ORDER_TYPE",
    "infor_gl_interface": "INFOR_GL_INTERFACE", "infor_partner": "INFOR_PARTNER",
    "infor_message_type": "INFOR_MESSAGE_TYPE", "infor_warehouses": "INFOR_WAREHOUSES",
    "infor_payment_types": "INFOR_PAYMENT_TYPES", "epicor_batch_size": "EPICOR_BATCH_SIZE",
    "epicor_bank_accounts": "EPICOR_BANK_ACCOUNTS",
    "retry_max_seconds": "ERP_RETRY_MAX_SECONDS", "retry_attempts": "ERP_RETRY_ATTEMPTS",
    "blocked_max_age_hours": "ERP_BLOCKED_MAX_AGE_HOURS",
}


class ErpResource(ConfigurableResource):
    """The ERP the product posts to (tims | infor | epicor)."""

    kind: str = Field(default="", description="ERP_KIND: tims, infor or epicor.")
    base_url: str = Field(default="", description="ERP_BASE_URL")
    mapping_file: str = Field(default="", description="ERP_MAPPING_FILE (default config/mapping.yaml)")
    tims_client_id: str = ""
    tims_client_secret: str = ""
    infor_ionapi_file: str = ""
    infor_company: str = ""
    infor_division: str = ""
    epicor_api_key: str = ""
    epicor_username: str = ""
    epicor_password: str = ""
    epicor_company: str = ""
    infor_customer_template: str = ""
    infor_order_type: str = ""
    infor_gl_interface: str = ""
    infor_partner: str = ""
    infor_message_type: str = ""
    infor_warehouses: str = ""
    infor_payment_types: str = ""
    epicor_batch_size: str = ""
    epicor_bank_accounts: str = ""
    retry_max_seconds: str = Field(default="", description="ERP_RETRY_MAX_SECONDS: how long an "
                                   "ERP outage is retried before the run fails (default 30).")
    retry_attempts: str = Field(default="", description="ERP_RETRY_ATTEMPTS: tries per retry "
                                "layer within that budget (default 6).")
    blocked_max_age_hours: str = Field(default="", description="ERP_BLOCKED_MAX_AGE_HOURS: "
                                       "age after which a blocked document fails the "
                                       "no_blocked_documents check with ERROR (default 24).")

    def env(self) -> dict[str, str]:
        return {var: str(getattr(self, field)) for field, var in ERP_ENV.items()
                if getattr(self, field)}

    def blocked_max_age(self) -> float:
        return float(self.blocked_max_age_hours or 24)

    def adapter(self) -> ErpAdapter:
        if not self.kind:
            raise ValueError("ERP_KIND is not set: choose tims, infor or epicor (see README)")
        return make_adapter(self.env())

    def mapping(self) -> Mapping:
        return load_mapping(self.mapping_file or None)

    @contextmanager
    def connected(self) -> Iterator[ErpAdapter]:
        """An adapter for one step: closed after it, and an ERP outage that outlasted the retry
        budget raised as ``outage_failure`` (fail fast, the ERP and document named)."""
        adapter = self.adapter()
        try:
            yield adapter
        except ErpUnavailable as exc:
            raise outage_failure(exc) from exc
        finally:
            adapter.close()

    def __repr__(self) -> str:
        return f"ErpResource(kind={self.kind!r}, base_url={self.base_url!r})"


def outage_failure(exc: ErpUnavailable) -> Failure:
    """A Dagster failure for an ERP outage that outlasted the retry budget: not retried by
    the step's retry policy (the wait is already spent), the ERP, URL, document and status
    in its metadata; the next run resumes from the batch that failed."""
    return Failure(description=exc.message, allow_retries=False, metadata={
        "erp": exc.erp, "base_url": exc.base_url, "document_kind": exc.kind,
        "document": exc.document, "http_status": exc.status or 0})
