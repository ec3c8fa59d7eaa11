"""Lists the admin pages share: a count, pages, sortable columns and a CSV export that keeps the filter.

Cost at scale (1,000,000 installations on PostgreSQL):

- a page is one ``ORDER BY <column>, <key> LIMIT 50 OFFSET n`` query; offsets
  stop at :data:`DEEP_LIMIT` rows (narrow the filter or flip the sort to reach
  the rest), so no page ever makes the database skip a million rows;
- the count is exact up to :data:`COUNT_CAP` matching rows and reads at most
  that many (``SELECT count(*) FROM (... LIMIT cap + 1)``); past it the page
  says "more than 10,000", so a broad filter never costs a full count;
- the export streams every matching row in primary-key order, in batches read
  by keyset (``WHERE key > last ORDER BY key LIMIT batch``), each batch its
  own short read, so an export of a million rows neither holds a snapshot open
  nor grows the server's memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.server.store import transactions

PER_PAGE = 50
COUNT_CAP = 10_000
DEEP_LIMIT = 10_000
EXPORT_BATCH = 2_000
# A spreadsheet runs a cell starting with one of these as a formula: a customer
# name from a payment provider could otherwise run code on the vendor's desk.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """A column of a list: its header, and the expression it sorts by (None: not sortable)."""

    key: str
    label: str
    sort: Any = None  # an expression, or a tuple of them (a coarse indexed one first)
    numeric: bool = False


@dataclass(frozen=True)
class ListSpec:
    """What a list shows: the query (filters applied), its columns, its default order and its key."""

    query: sa.Select[Any]
    columns: Sequence[Column]
    key: Any  # the primary key column: ties in a sort, keyset for the export
    default_sort: str
    default_desc: bool = True


@dataclass
class Listing:
    """One page of a list, with what its template needs to draw counts, pages and headers."""

    rows: list[Any]
    columns: Sequence[Column]
    total: int
    exact: bool
    page: int
    sort: str
    desc: bool
    path: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def first(self) -> int:
        return (self.page - 1) * PER_PAGE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        more = self.last < self.total or not self.exact
        return bool(self.rows) and len(self.rows) == PER_PAGE and more and self.last < DEEP_LIMIT

    @property
    def summary(self) -> str:
        """'1-50 of 3,000', 'none', or '1-50 of more than 10,000'."""
        if not self.rows:
            return "none"
        of = f"{self.total:,}" if self.exact else f"more than {COUNT_CAP:,}"
        return f"{self.first:,}-{self.last:,} of {of}"

    def url(self, **changes: Any) -> str:
        """This list's address with some parameters changed (filters kept)."""
        params = {**self.params, "sort": self.sort, "dir": "desc" if self.desc else "asc", "page": str(self.page)}
        params.update({k: str(v) for k, v in changes.items()})
        if params.get("page") == "1":
            params.pop("page")
        return f"{self.path}?{urlencode({k: v for k, v in params.items() if v})}"

    def sort_url(self, key: str) -> str:
        """Sort by ``key``; a second click on the sorted column flips its direction."""
        desc = not self.desc if key == self.sort else True
        return self.url(sort=key, dir="desc" if desc else "asc", page=1)

    def aria_sort(self, key: str) -> str:
        if key != self.sort:
            return "none"
        return "descending" if self.desc else "ascending"

    @property
    def export_url(self) -> str:
        filters = {k: v for k, v in self.params.items() if v}
        return f"{self.path}.csv" + (f"?{urlencode(filters)}" if filters else "")


def page_number(text: str | int | None) -> int:
    try:
        number = int(text or 1)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), DEEP_LIMIT // PER_PAGE)


def capped_count(conn: sa.Connection, query: sa.Select[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, exact): reads at most ``cap + 1`` rows of the filtered query."""
    inner = query.with_only_columns(sa.literal(1), maintain_column_froms=True).order_by(None).limit(cap + 1).subquery()
    found = int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())
    return (found, True) if found <= cap else (cap, False)


def listing(
    conn: sa.Connection,
    spec: ListSpec,
    *,
    path: str,
    params: Mapping[str, str],
    sort: str = "",
    direction: str = "",
    page: str | int | None = 1,
) -> Listing:
    """One page of ``spec``, sorted by a known column (an unknown one falls back to the default)."""
    by_key = {c.key: c for c in spec.columns if c.sort is not None}
    chosen = sort if sort in by_key else spec.default_sort
    desc = spec.default_desc if direction not in ("asc", "desc") else direction == "desc"
    exprs = by_key[chosen].sort if isinstance(by_key[chosen].sort, tuple) else (by_key[chosen].sort,)
    # NULLs last either way ("never" sorts after every date), said only where a column can hold
    # one: on PostgreSQL, DESC NULLS LAST on a NOT NULL column would stop an index serving the order.
    order = [
        (e.desc() if desc else e.asc()).nulls_last()
        if getattr(e, "nullable", True)
        else (e.desc() if desc else e.asc())
        for e in exprs
    ]
    order.append(spec.key.desc() if desc else spec.key.asc())
    number = page_number(page)
    rows = list(conn.execute(spec.query.order_by(*order).limit(PER_PAGE).offset((number - 1) * PER_PAGE)).all())
    total, exact = capped_count(conn, spec.query)
    return Listing(rows, spec.columns, total, exact, number, chosen, desc, path, dict(params))


def csv_cell(value: Any) -> str:
    text = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_export(
    engine: AsyncEngine,
    make_spec: Callable[[], ListSpec],
    *,
    filename: str,
    header: Sequence[str],
    row_of: Callable[[Any, Any], Sequence[Any]],
    context_of: Callable[[sa.Connection, list[Any]], Any] | None = None,
) -> StreamingResponse:
    """Every row the list's filter matches, streamed as CSV in keyset batches.

    ``context_of`` reads, once per batch, what ``row_of`` needs besides the row
    (the audit log's names of licenses and products).
    """
    spec = make_spec()

    def batch(conn: sa.Connection, *, after: Any) -> tuple[list[Any], Any]:
        query = spec.query.order_by(spec.key.asc()).limit(EXPORT_BATCH)
        if after is not None:
            query = query.where(spec.key > after)
        rows = list(conn.execute(query).all())
        return rows, context_of(conn, rows) if context_of is not None else None

    async def lines() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        after = None
        while True:
            rows, context = await transactions.read_only(engine, batch, after=after)
            for row in rows:
                writer.writerow([csv_cell(v) for v in row_of(row, context)])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(rows) < EXPORT_BATCH:
                return
            after = getattr(rows[-1], spec.key.name)

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
