"""A license type (policy) as a vendor writes it: its name and the knobs they set, written once.

The developer API reads one from its flat body (``{"name": ..., "copy_of": ...,
<knob>: <value>, ...}``), the CLI from ``NAME`` and ``--set KNOB=VALUE``, the
admin UI from its form; :func:`~licentia.server.policies.service.create_policy`
and :func:`~licentia.server.policies.service.change_policy` take it. The knobs
are checked by the one table in ``knobs.py`` when the service writes them, so
every surface refuses a bad knob with the same ``invalid_policy`` message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from licentia.server.policies.knobs import invalid


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """Knobs to set, and a name: the new type's name, or a new name for an existing one (unchanged if None).

    ``copy_of`` (creating only) names the type whose knobs a new one starts from; else the defaults.
    """

    knobs: dict[str, Any] = field(default_factory=dict)
    name: Any = None  # checked by knobs.validate_name where it is used: bodies may send anything
    copy_of: str | None = None

    @classmethod
    def of_body(cls, body: Any, *, creating: bool) -> PolicySpec:
        """A developer API body: ``name`` (and ``copy_of`` when creating) beside the knobs, all flat."""
        if not isinstance(body, dict):
            raise invalid("the body is a JSON object of knob: value")
        named = ("name", "copy_of") if creating else ("name",)
        knobs = {k: v for k, v in body.items() if k not in named}
        return cls(knobs=knobs, name=body.get("name"), copy_of=body.get("copy_of") if creating else None)
