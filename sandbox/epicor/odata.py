"""OData v4 query options as Epicor's REST v2 accepts them on entity-set GETs.

Supported: ``$select``, ``$filter`` (eq ne gt ge lt le, and or not, parentheses,
``in (...)``, ``contains``/``startswith``/``endswith``/``tolower``/``toupper``),
``$orderby``, ``$top``, ``$skip``, ``$count`` and ``$expand`` (navigation names, no
nested options).  Names are case sensitive; an unknown property or option is a
400 ``ODataException``.  String comparisons are case-insensitive like SQL Server's
default collation (``SQL_Latin1_General_CP1_CI_AS``) under a real Epicor database.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ODATA_EXCEPTION, EpicorError

Row = dict[str, Any]
Getter = Callable[[Row], Any]
Pred = Callable[[Row], bool]

MAX_ROWS = 100  # Epicor's server row limit per response; no @odata.nextLink is sent

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<dt>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)
    | (?P<num>-?\d+(?:\.\d+)?(?:[mMdDlL])?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[(),])
    )""", re.VERBOSE)

_CMP = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"contains", "startswith", "endswith", "tolower", "toupper"}


def odata_error(message: str) -> EpicorError:
    return EpicorError(message, status=400, error_type=ODATA_EXCEPTION)


@dataclass
class Tok:
    kind: str
    value: Any
    text: str


def tokenize(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise odata_error(f"Syntax error at position {pos} in '{text}'.")
        pos = m.end()
        kind = m.lastgroup or ""
        raw = m.group(kind)
        if kind == "str":
            out.append(Tok("lit", raw[1:-1].replace("''", "'"), raw))
        elif kind == "dt":
            out.append(Tok("lit", normalize_datetime(raw), raw))
        elif kind == "num":
            digits = raw.rstrip("mMdDlL")
            out.append(Tok("lit", int(digits) if re.fullmatch(r"-?\d+", digits) else Decimal(digits),
                           raw))
        elif kind == "name":
            low = raw  # keywords are case sensitive in OData
            if low in ("true", "false"):
                out.append(Tok("lit", low == "true", raw))
            elif low == "null":
                out.append(Tok("lit", None, raw))
            else:
                out.append(Tok("name", raw, raw))
        else:
            out.append(Tok("punct", raw, raw))
    return out


def normalize_datetime(text: str) -> str:
    """``2025-01-31`` / ``2025-01-31T00:00:00Z`` -> ``2025-01-31T00:00:00`` (Epicor's form)."""
    date_part, _, time_part = text.partition("T")
    time_part = re.sub(r"(Z|[+-]\d{2}:\d{2})$", "", time_part)
    time_part = (time_part or "00:00:00").split(".")[0]
    if len(time_part) == 5:
        time_part += ":00"
    return f"{date_part}T{time_part}"


def _fold(v: Any) -> Any:
    return v.casefold() if isinstance(v, str) else v


def _num(v: Any) -> Any:
    if isinstance(v, float):
        return Decimal(repr(v))
    return v


def _compare(op: str, a: Any, b: Any) -> bool:
    a, b = _fold(_num(a)), _fold(_num(b))
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return False
    try:
        if op == "gt":
            return a > b
        if op == "ge":
            return a >= b
        if op == "lt":
            return a < b
        return a <= b
    except TypeError:
        raise odata_error("A binary operator with incompatible types was detected.") from None


@dataclass
class Compiled:
    pred: Pred
    # (field, folded values): every matching row has its field's value in values
    hint: tuple[str, set[Any]] | None = None
    pure: bool = False  # the filter is exactly "field in values"


class _Parser:
    def __init__(self, toks: list[Tok], fields: Iterable[str], type_name: str) -> None:
        self.toks, self.i = toks, 0
        self.fields = set(fields)
        self.type_name = type_name

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise odata_error("Unexpected end of $filter expression.")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok.value != value or tok.kind not in ("punct", "name"):
            raise odata_error(f"'{value}' expected at '{tok.text}'.")

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok.kind == "name" and tok.value == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Compiled:
        out = self.or_expr()
        if self.peek() is not None:
            raise odata_error(f"Syntax error: unexpected '{self.peek().text}'.")  # type: ignore[union-attr]
        return out

    def or_expr(self) -> Compiled:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        preds = [p.pred for p in parts]
        if all(p.hint for p in parts) and len({p.hint[0] for p in parts}) == 1:  # type: ignore[index]
            values: set[Any] = set()
            for p in parts:
                values |= p.hint[1]  # type: ignore[index]
            fname = parts[0].hint[0]  # type: ignore[index]
            if all(p.pure for p in parts):
                return Compiled(lambda r, f=fname, vs=values: _fold(_num(r.get(f))) in vs,
                                (fname, values), True)
            return Compiled(lambda r: any(p(r) for p in preds), (fname, values))
        return Compiled(lambda r: any(p(r) for p in preds))

    def and_expr(self) -> Compiled:
        parts = [self.not_expr()]
        while self.keyword("and"):
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        preds = [p.pred for p in parts]
        hint = next((p.hint for p in parts if p.hint), None)
        return Compiled(lambda r: all(p(r) for p in preds), hint)

    def not_expr(self) -> Compiled:
        if self.keyword("not"):
            inner = self.not_expr()
            return Compiled(lambda r, p=inner.pred: not p(r))
        return self.comparison()

    def comparison(self) -> Compiled:
        tok = self.peek()
        if tok and tok.kind == "punct" and tok.value == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        left, left_field = self.operand()
        nxt = self.peek()
        if nxt and nxt.kind == "name" and nxt.value in _CMP:
            op = self.take().value
            right, right_field = self.operand()
            if op == "eq" and left_field and right_field is None and isinstance(right, _Const):
                return Compiled(lambda r: _compare(op, left(r), right(r)),
                                (left_field, {_fold(_num(right.value))}), True)
            return Compiled(lambda r: _compare(op, left(r), right(r)))
        if nxt and nxt.kind == "name" and nxt.value == "in":
            self.take()
            self.expect("(")
            values: list[Any] = []
            while True:
                lit = self.take()
                if lit.kind != "lit":
                    raise odata_error(f"Literal expected in 'in' list at '{lit.text}'.")
                values.append(_fold(_num(lit.value)))
                sep = self.take()
                if sep.value == ")":
                    break
                if sep.value != ",":
                    raise odata_error(f"',' or ')' expected at '{sep.text}'.")
            folded = set(values)
            if left_field:
                return Compiled(lambda r: _fold(_num(left(r))) in folded, (left_field, folded), True)
            return Compiled(lambda r: _fold(_num(left(r))) in folded)
        # a bare boolean operand (e.g. a bool property or contains(...))
        return Compiled(lambda r: bool(left(r)))

    def operand(self) -> tuple[Getter, str | None]:
        tok = self.take()
        if tok.kind == "lit":
            return _Const(tok.value), None
        if tok.kind == "punct" and tok.value == "(":
            inner = self.or_expr()
            self.expect(")")
            return inner.pred, None
        if tok.kind != "name":
            raise odata_error(f"Syntax error at '{tok.text}'.")
        nxt = self.peek()
        if nxt and nxt.kind == "punct" and nxt.value == "(":
            if tok.value not in _FUNCS:
                raise odata_error(f"Unknown function '{tok.value}'.")
            self.take()
            args: list[Getter] = []
            while True:
                arg, _ = self.operand()
                args.append(arg)
                sep = self.take()
                if sep.value == ")":
                    break
                if sep.value != ",":
                    raise odata_error(f"',' or ')' expected at '{sep.text}'.")
            return _function(tok.value, args), None
        name = tok.value
        if name not in self.fields:
            raise odata_error(f"Could not find a property named '{name}' on type "
                              f"'{self.type_name}'.")
        return (lambda r, n=name: r.get(n)), name


class _Const:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, row: Row) -> Any:
        return self.value


def _function(name: str, args: list[Getter]) -> Getter:
    def s(v: Any) -> str:
        return "" if v is None else str(v)
    if name in ("tolower", "toupper"):
        if len(args) != 1:
            raise odata_error(f"Function '{name}' takes one argument.")
        a = args[0]
        return (lambda r: s(a(r)).lower()) if name == "tolower" else (lambda r: s(a(r)).upper())
    if len(args) != 2:
        raise odata_error(f"Function '{name}' takes two arguments.")
    a, b = args
    if name == "contains":
        return lambda r: s(b(r)).casefold() in s(a(r)).casefold()
    if name == "startswith":
        return lambda r: s(a(r)).casefold().startswith(s(b(r)).casefold())
    return lambda r: s(a(r)).casefold().endswith(s(b(r)).casefold())


def compile_filter(text: str, fields: Iterable[str], type_name: str) -> Compiled:
    toks = tokenize(text)
    if not toks:
        raise odata_error("The $filter expression is empty.")
    return _Parser(toks, fields, type_name).parse()


@dataclass
class Query:
    select: list[str] | None = None
    filter: Compiled | None = None
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    top: int | None = None
    skip: int = 0
    count: bool = False
    expand: list[str] = field(default_factory=list)


KNOWN_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$skip", "$count", "$expand",
                 "$format", "$inlinecount"}


def parse_query(params: Iterable[tuple[str, str]], fields: Iterable[str], type_name: str,
                navigations: Iterable[str] = ()) -> Query:
    fields = set(fields)
    navs = set(navigations)
    q = Query()
    for key, value in params:
        if not key.startswith("$"):
            continue
        if key not in KNOWN_OPTIONS:
            raise odata_error(f"The query parameter '{key}' is not supported.")
        if key == "$select":
            names = [n.strip() for n in value.split(",") if n.strip()]
            for n in names:
                if n not in fields and n not in navs and n != "*":
                    raise odata_error(f"Could not find a property named '{n}' on type "
                                      f"'{type_name}'.")
            q.select = None if "*" in names else names
        elif key == "$filter":
            q.filter = compile_filter(value, fields, type_name)
        elif key == "$orderby":
            for part in value.split(","):
                bits = part.split()
                if not bits:
                    continue
                if bits[0] not in fields or len(bits) > 2 or (
                        len(bits) == 2 and bits[1] not in ("asc", "desc")):
                    raise odata_error(f"Invalid $orderby '{part.strip()}'.")
                q.orderby.append((bits[0], len(bits) == 2 and bits[1] == "desc"))
        elif key in ("$top", "$skip"):
            try:
                n = int(value)
            except ValueError:
                raise odata_error(f"Invalid value '{value}' for {key}.") from None
            if n < 0:
                raise odata_error(f"Invalid value '{value}' for {key}.")
            if key == "$top":
                q.top = n
            else:
                q.skip = n
        elif key in ("$count", "$inlinecount"):
            q.count = value in ("true", "allpages")
        elif key == "$expand":
            for part in _split_top_level(value):
                name = part.split("(", 1)[0].strip()
                if name not in navs:
                    raise odata_error(f"Could not find a navigation property named '{name}' "
                                      f"on type '{type_name}'.")
                q.expand.append(name)
    return q


def _split_top_level(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float, Decimal)):
        return (1, _num(value))
    return (2, _fold(str(value)))


def apply(rows: list[Row], q: Query) -> tuple[list[Row], int]:
    """Filter, order and page rows; returns (page, total matching)."""
    if q.filter is not None:
        pred = q.filter.pred
        rows = [r for r in rows if pred(r)]
    for name, desc in reversed(q.orderby):
        rows = sorted(rows, key=lambda r, n=name: sort_key(r.get(n)), reverse=desc)
    total = len(rows)
    top = MAX_ROWS if q.top is None else min(q.top, MAX_ROWS)
    return rows[q.skip:q.skip + top], total


def to_decimal(value: Any) -> Decimal:
    """A JSON number (or numeric string) as an exact Decimal."""
    if isinstance(value, bool):
        raise ValueError("boolean is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
