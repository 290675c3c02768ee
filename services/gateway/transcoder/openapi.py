"""OpenAPI operations and schemas from the catalog's descriptors, merged into the
hand-kept routes' document (a hand-kept operation wins on the same path and method).

Schemas are named by the messages' full names (`taskflow.v1.Task`), described by
the protos' comments; field names are the protos' own, enums are their value
names, and well-known types have their JSON forms, as the transcoder speaks them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from google.protobuf import descriptor

from services.gateway.transcoder.catalog import Binding

Json = dict[str, Any]
Field = descriptor.FieldDescriptor
ERROR_SCHEMA: Json = {
    "type": "object",
    "properties": {"detail": {"description": "What went wrong."}},
    "required": ["detail"],
}
_INT64 = {Field.TYPE_INT64, Field.TYPE_SINT64, Field.TYPE_SFIXED64}
_UINT64 = {Field.TYPE_UINT64, Field.TYPE_FIXED64}
_INT32 = {Field.TYPE_INT32, Field.TYPE_SINT32, Field.TYPE_SFIXED32}
_UINT32 = {Field.TYPE_UINT32, Field.TYPE_FIXED32}
_WELL_KNOWN: Mapping[str, Json] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?\d+(\.\d+)?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {"type": "object", "additionalProperties": True},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte"},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.UInt32Value": {"type": "integer", "minimum": 0},
    "google.protobuf.Int64Value": {"type": ["integer", "string"], "format": "int64"},
    "google.protobuf.UInt64Value": {"type": ["integer", "string"], "format": "uint64"},
    "google.protobuf.FloatValue": {"type": "number"},
    "google.protobuf.DoubleValue": {"type": "number"},
}


def merge(document: Json, bindings: list[Binding], comments: Mapping[str, str]) -> Json:
    """A copy of `document` with every binding it does not already have."""
    merged = copy.deepcopy(document)
    paths: Json = merged.setdefault("paths", {})
    schemas: Json = merged.setdefault("components", {}).setdefault("schemas", {})
    builder = _Schemas(schemas, comments)
    # The API's auth scheme (bearer, when a token is set) covers /api/ as for hand-kept routes.
    security: list[Json] = [{name: []} for name in merged["components"].get("securitySchemes", {})]
    for binding in bindings:
        item: Json = paths.setdefault(binding.template.openapi_path, {})
        verb = binding.http_method.lower()
        if verb not in item:
            item[verb] = _operation(binding, builder, comments)
            if security and binding.template.openapi_path.startswith("/api/"):
                item[verb]["security"] = security
    return merged


def _operation(binding: Binding, schemas: _Schemas, comments: Mapping[str, str]) -> Json:
    method = binding.method
    service = method.containing_service
    request = binding.request_descriptor
    parameters = [
        _parameter(name, "path", schemas.for_path(request, name), required=True)
        for name in binding.template.variables
    ]
    if binding.body != "*":
        parameters += [
            _parameter(name, "query", schema)
            for name, schema in schemas.query_fields(request, binding)
        ]
    operation: Json = {
        "tags": [service.name],
        "summary": method.name,
        "description": comments.get(method.full_name, ""),
        "operationId": f"{service.name}_{method.name}",
        "parameters": parameters,
        "responses": {
            "200": _success(binding, schemas),
            "422": _error("The request does not make a valid message, or the service refused it"),
            "default": _error("An error, with the status the service's answer maps to"),
        },
    }
    if binding.body:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": schemas.body(request, binding)}},
        }
    return operation


def _parameter(name: str, where: str, schema: Json, *, required: bool = False) -> Json:
    return {"name": name, "in": where, "required": required, "schema": schema}


def _success(binding: Binding, schemas: _Schemas) -> Json:
    reply = binding.response_descriptor
    schema = schemas.ref(reply)
    if binding.response_body:
        schema = schemas.field(reply.fields_by_name[binding.response_body])
    if binding.server_streaming:
        return {
            "description": f"Server-sent events, each `data: {{json}}` of one {reply.name}",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    return {"description": reply.name, "content": {"application/json": {"schema": schema}}}


def _or_null(schema: Json) -> Json:
    """`schema` or null; its description stays on the outside, where readers look."""
    inner = {key: value for key, value in schema.items() if key != "description"}
    wrapped: Json = {"anyOf": [inner, {"type": "null"}]}
    if "description" in schema:
        wrapped["description"] = schema["description"]
    return wrapped


def _is_or_null(schema: Json) -> bool:
    return {"type": "null"} in schema.get("anyOf", [])


def _error(description: str) -> Json:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


class _Schemas:
    """Adds each message's schema to `components.schemas` once."""

    def __init__(self, schemas: Json, comments: Mapping[str, str]) -> None:
        self.schemas = schemas
        self.comments = comments

    def ref(self, message: Any) -> Json:
        if message.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[message.full_name])
        if message.full_name not in self.schemas:
            self.schemas[message.full_name] = {}  # placeholder: recursive messages
            self.schemas[message.full_name] = self._object(message, skip=frozenset())
        return {"$ref": f"#/components/schemas/{message.full_name}"}

    def body(self, request: Any, binding: Binding) -> Json:
        """What a body may be: `null` (no fields, like an empty body), and at its top
        level `null` for any field (its default), as proto JSON reads them."""
        if binding.body != "*":
            return _or_null(self.field(request.fields_by_name[binding.body]))
        if binding.path_fields:
            whole = self._object(request, skip=binding.path_fields)
        else:  # the request message's own component, which only requests use
            whole = self.schemas[self.ref(request)["$ref"].rsplit("/", 1)[1]]
            reference = {"$ref": f"#/components/schemas/{request.full_name}"}
        whole["properties"] = {
            name: field if _is_or_null(field) else _or_null(field)
            for name, field in whole["properties"].items()
        }
        return _or_null(reference if not binding.path_fields else whole)

    def for_path(self, request: Any, dotted: str) -> Json:
        current: Any = request
        found: Any = None
        for part in dotted.split("."):
            found = current.fields_by_name[part]
            current = found.message_type
        return self._single(found) if found is not None else {"type": "string"}

    def query_fields(self, request: Any, binding: Binding) -> list[tuple[str, Json]]:
        """Top-level fields a query parameter can set (scalars, enums, their lists,
        single-valued well-known types), except those in the path or body."""
        taken = {binding.body, *(p.split(".")[0] for p in binding.path_fields)}
        found = []
        for item in request.fields:
            if item.name in taken or _is_map(item):
                continue
            if item.message_type is not None and item.message_type.full_name not in _WELL_KNOWN:
                continue
            schema = self.field(item)
            if "$ref" in schema or schema.get("type") == "object":
                continue
            found.append((item.name, schema))
        return found

    def field(self, item: Any) -> Json:
        if _is_map(item):
            value = item.message_type.fields_by_name["value"]
            schema: Json = {"type": "object", "additionalProperties": self._single(value)}
        elif item.is_repeated:
            schema = {"type": "array", "items": self._single(item)}
        else:
            schema = self._single(item)
        if text := self.comments.get(item.full_name):
            schema = (
                {**schema, "description": text}
                if "$ref" not in schema
                else {"allOf": [schema], "description": text}
            )
        return schema

    def _object(self, message: Any, *, skip: frozenset[str]) -> Json:
        schema: Json = {
            "type": "object",
            "properties": {f.name: self.field(f) for f in message.fields if f.name not in skip},
            "additionalProperties": False,
        }
        if text := self.comments.get(message.full_name):
            schema["description"] = text
        return schema

    def _single(self, item: Any) -> Json:
        kind = item.type
        if item.message_type is not None:
            return self.ref(item.message_type)
        if item.enum_type is not None:
            return {"type": "string", "enum": [v.name for v in item.enum_type.values]}
        if kind == Field.TYPE_BOOL:
            return {"type": "boolean"}
        if kind == Field.TYPE_STRING:
            return {"type": "string"}
        if kind == Field.TYPE_BYTES:
            return {"type": "string", "format": "byte"}
        if kind in (Field.TYPE_FLOAT, Field.TYPE_DOUBLE):
            return {"type": "number"}
        if kind in _INT32:
            return {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
        if kind in _UINT32:
            return {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
        if kind in _INT64:
            return {"type": ["integer", "string"], "format": "int64"}
        if kind in _UINT64:
            return {"type": ["integer", "string"], "format": "uint64"}
        return {}


def _is_map(item: Any) -> bool:
    message = item.message_type
    return bool(message is not None and message.GetOptions().map_entry)
