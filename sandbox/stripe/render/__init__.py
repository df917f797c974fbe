"""Object templates and ids, one module per object family (re-exported here).

Every builder returns a plain dict carrying exactly the top-level keys the
stripe-python 16.1 model declares for that object (API version
``2026-10-28.endive``), minus fields Stripe only returns when expanded or
included (``charge.refunds``, ``customer.sources`` ...; see ``OMITTED``).
Nested constant sub-objects are module-level and shared between objects:
orjson serialises them without copying, which keeps bulk generation cheap.
Builders never mutate shared constants; callers replace, not edit, nested
values (``obj["outcome"] = {...}``).

The indexed columns stored next to the rendered JSON are extracted by
``store_schema.ROW``.
"""

from .base import (  # noqa: F401
    API_VERSION,
    EMPTY_LIST_META,
    Ids,
    NULL_ADDRESS,
    OMITTED,
    deleted,
    dumps,
    loads,
    sub_list,
)
from .catalog import (  # noqa: F401
    customer,
    plan_from_price,
    price,
    product,
    recurring,
)
from .payments import (  # noqa: F401
    AMOUNT_DETAILS,
    BILLING_EMPTY,
    CARD_CHECKS,
    OUTCOME_OK,
    PMO_CARD,
    balance_transaction,
    billing_details,
    card_details,
    card_template,
    charge,
    outcome_declined,
    payment_intent,
    stripe_fee_details,
)
from .movements import (  # noqa: F401
    EVIDENCE,
    REASON_CODES,
    REFUND_DEST_CARD,
    TRACE_PENDING,
    dispute,
    payout,
    refund,
)
from .billing import (  # noqa: F401
    AUTOMATIC_TAX_OFF,
    BILLING_MODE_CLASSIC,
    CANCELLATION_NONE,
    INVOICE_AUTOMATIC_TAX_OFF,
    INVOICE_PAYMENT_SETTINGS,
    INVOICE_RENDERING,
    ISSUER_SELF,
    SUB_INVOICE_SETTINGS,
    SUB_PAYMENT_SETTINGS,
    TRIAL_SETTINGS,
    invoice,
    invoice_payment,
    line_item,
    subscription,
    subscription_item,
    webhook_endpoint,
)
from .events import (  # noqa: F401
    event_bytes,
    event_parts,
)
