"""google.api.http path templates: `/v1/tasks/{task_id}`, `/v1/{name=projects/*}`,
`/v1/{path=**}`, `/v1/tasks/{task_id}:cancel`, matched against request paths.

    Template = "/" Segments [ ":" Verb ]
    Segment  = "*" | "**" | LITERAL | "{" FieldPath [ "=" Segments ] "}"

A variable without `=` matches one segment; `*` one segment, `**` any number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ONE_SEGMENT = "[^/]+"
_ANY_SEGMENTS = ".*"


class TemplateError(ValueError):
    """A path template that does not follow the grammar."""


@dataclass(frozen=True)
class PathTemplate:
    """One parsed template: its regex, the field path of each variable, and the form
    OpenAPI shows (`/v1/{name}`)."""

    template: str
    pattern: re.Pattern[str]
    variables: tuple[str, ...]
    openapi_path: str

    def match(self, path: str) -> dict[str, str] | None:
        """The variables' values (field path -> text), or None if `path` differs."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {field: found.group(f"v{i}") for i, field in enumerate(self.variables)}


def parse(template: str) -> PathTemplate:
    if not template.startswith("/"):
        raise TemplateError(f"{template!r}: a template starts with /")
    body, verb = _split_verb(template[1:])
    variables: list[str] = []
    regex_parts: list[str] = []
    openapi_parts: list[str] = []
    for segment in _segments(body):
        if segment.startswith("{"):
            field, _, inner = segment[1:-1].partition("=")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", field):
                raise TemplateError(f"{template!r}: bad variable {segment!r}")
            group = f"v{len(variables)}"
            variables.append(field)
            regex_parts.append(f"(?P<{group}>{_inner_regex(inner, template)})")
            openapi_parts.append("{" + field + "}")
        else:
            regex_parts.append(_literal_regex(segment))
            openapi_parts.append(segment)
    suffix = f":{verb}" if verb else ""
    pattern = re.compile("/" + "/".join(regex_parts) + re.escape(suffix))
    return PathTemplate(template, pattern, tuple(variables), "/" + "/".join(openapi_parts) + suffix)


def _split_verb(body: str) -> tuple[str, str]:
    """`tasks/{id}:cancel` -> (`tasks/{id}`, `cancel`); a colon inside braces is not one."""
    depth = 0
    for index in range(len(body) - 1, -1, -1):
        char = body[index]
        if char == "}":
            depth += 1
        elif char == "{":
            depth -= 1
        elif char == ":" and depth == 0:
            return body[:index], body[index + 1 :]
        elif char == "/" and depth == 0:
            break
    return body, ""


def _segments(body: str) -> list[str]:
    """Split on `/` outside braces."""
    segments, current, depth = [], "", 0
    for char in body:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if char == "/" and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        raise TemplateError(f"{body!r}: unbalanced braces")
    segments.append(current)
    return segments


def _literal_regex(segment: str) -> str:
    if segment == "*":
        return _ONE_SEGMENT
    if segment == "**":
        return _ANY_SEGMENTS
    if "{" in segment or "}" in segment:
        raise TemplateError(f"{segment!r}: a variable is a whole segment")
    return re.escape(segment)


def _inner_regex(inner: str, template: str) -> str:
    if not inner:
        return _ONE_SEGMENT
    if "{" in inner:
        raise TemplateError(f"{template!r}: variables do not nest")
    return "/".join(_literal_regex(part) for part in inner.split("/"))
