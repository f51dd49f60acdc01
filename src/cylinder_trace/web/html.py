"""A very small HTML builder that escapes by construction.

Every plain ``str`` that reaches a page goes through :func:`escape`; only :class:`Markup` (built here
from escaped parts, or a constant of this package) is written as it is. Attribute values are always
quoted and escaped. There is no way to put unescaped data into a page without naming ``Markup``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping


class Markup(str):
    """Text that is already HTML (escaped parts joined by this module, or a constant of the package)."""

    __slots__ = ()


def escape(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def _children(children: Iterable[object]) -> Iterable[Markup]:
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, str | int | float):
            yield escape(child)
        elif isinstance(child, Iterable):
            yield from _children(child)
        else:
            raise TypeError(f"cannot put {type(child).__name__} into a page")


_VOID = frozenset({"meta", "link", "input", "br", "hr", "img"})


def el(tag: str, attrs: Mapping[str, str | int | bool | None] | None = None, *children: object) -> Markup:
    """``<tag attrs>children</tag>``. An attribute that is None or False is left out; True is written bare."""
    parts = [f"<{tag}"]
    for name, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(f" {name}")
        else:
            parts.append(f' {name}="{escape(value)}"')
    parts.append(">")
    if tag in _VOID:
        return Markup("".join(parts))
    return Markup("".join(parts) + "".join(_children(children)) + f"</{tag}>")


def join(*children: object) -> Markup:
    return Markup("".join(_children(children)))
