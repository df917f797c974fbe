"""Workbench settings from the environment: the same variables the Dagster code location
reads (WAREHOUSE_URL, ERP_*, ERP_MAPPING_FILE) plus the workbench's own.

The login token is ``WORKBENCH_TOKEN`` in production; without it the workbench keeps one in
``data/workbench_token`` (created on first start, readable by its owner only).  The token is
never logged, shown or put in errors.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from domain.mapping import DEFAULT_MAPPING
from warehouse.db import data_dir

DEFAULT_GRAPHQL = "http://127.0.0.1:3000/graphql"


def workbench_url() -> str:
    """Where operators find the workbench (WORKBENCH_URL; the demo's port by default)."""
    return os.environ.get("WORKBENCH_URL") or "http://127.0.0.1:12114"


def token_file() -> Path:
    return data_dir() / "workbench_token"


def ensure_token_file(path: Path | None = None) -> Path:
    """The demo's token file, created (mode 600) with a fresh random token if missing."""
    path = path or token_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24) + "\n")
    return path


@dataclass
class Settings:
    token: str = field(repr=False)
    mapping_path: Path
    graphql_url: str = DEFAULT_GRAPHQL
    warehouse_url: str | None = None
    location: str = "stripe_erp"
    erp_env: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def dagster_ui(self) -> str:
        return self.graphql_url.removesuffix("/graphql")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        token = env.get("WORKBENCH_TOKEN", "").strip()
        if not token:
            token = ensure_token_file().read_text().strip()
        return cls(token=token,
                   mapping_path=Path(env.get("ERP_MAPPING_FILE") or DEFAULT_MAPPING),
                   graphql_url=env.get("DAGSTER_GRAPHQL_URL") or DEFAULT_GRAPHQL,
                   warehouse_url=env.get("WAREHOUSE_URL") or None,
                   erp_env={k: v for k, v in env.items()
                            if k.startswith(("ERP_", "TIMS_", "INFOR_", "EPICOR_"))})
