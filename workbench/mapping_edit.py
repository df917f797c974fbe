"""Edit the mapping file from the workbench: one entry at a time, through the same
validation as at load (``domain.mapping.load_mapping``), keeping the file's comments.

An unknown SKU is mapped with ``items.by_sku``: the entry is added to the file's text (or
its value replaced), the new text is validated by loading it, and only then does it replace
the file, atomically.  Returns the unified diff for the audit.
"""
from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from pathlib import Path

import yaml

from domain.mapping import Mapping, MappingError, load_mapping

_BY_SKU = re.compile(r"^(?P<indent>[ \t]+)by_sku:[ \t]*(?P<flow>\{[ \t]*\})?[ \t]*(?P<note>#.*)?$")


def with_sku_mapping(text: str, sku: str, item: str) -> str:
    """The mapping text with ``items.by_sku[sku] = item``."""
    lines = text.splitlines()
    entry = f"{json.dumps(sku)}: {json.dumps(item)}"
    for i, line in enumerate(lines):
        m = _BY_SKU.match(line)
        if not m:
            continue
        indent = m["indent"]
        child = indent + "  "
        if m["flow"] is not None:
            note = f"  {m['note']}" if m["note"] else ""
            lines[i:i + 1] = [f"{indent}by_sku:{note}", f"{child}{entry}"]
            return "\n".join(lines) + "\n"
        j = i + 1
        while j < len(lines) and (lines[j].startswith(child) or not lines[j].strip()):
            key = lines[j].strip().split(":", 1)[0].strip().strip("'\"")
            if key == sku:
                lines[j] = f"{child}{entry}"
                return "\n".join(lines) + "\n"
            j += 1
        lines.insert(i + 1, f"{child}{entry}")
        return "\n".join(lines) + "\n"
    data = yaml.safe_load(text) or {}  # no by_sku line to edit: rewrite (comments are lost)
    data.setdefault("items", {}).setdefault("by_sku", {})[sku] = item
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def validate(path: Path, text: str) -> Mapping:
    """Load ``text`` exactly as the pipelines load the mapping file; MappingError if bad."""
    fd, tmp = tempfile.mkstemp(prefix=".mapping-check-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        mapping = load_mapping(tmp)
    finally:
        os.unlink(tmp)
    return mapping


def diff(path: Path, old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        f"a/{path.name}", f"b/{path.name}"))


def map_sku(path: Path, sku: str, item: str, *, write: bool) -> tuple[Mapping, str]:
    """Validate (and with ``write``, save) the mapping with ``sku -> item``; (mapping, diff)."""
    old = path.read_text()
    new = with_sku_mapping(old, sku, item)
    mapping = validate(path, new)
    if mapping.items.item_for(sku, None) != item:
        raise MappingError(f"{path.name}: items.by_sku.{sku} did not take the value {item}")
    if write and new != old:
        fd, tmp = tempfile.mkstemp(prefix=".mapping-", suffix=".yaml", dir=path.parent)
        with os.fdopen(fd, "w") as fh:
            fh.write(new)
        os.replace(tmp, path)
    return mapping, diff(path, old, new)
