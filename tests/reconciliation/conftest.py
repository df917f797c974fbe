"""The ERP sandboxes, as in tests/erp (one per ERP kind for the session)."""
from tests.erp.conftest import erp, erp_session  # noqa: F401 - fixtures
