"""Canonical events → the Responses typed event stream: ``response.created``,
``response.in_progress``, per output item ``output_item.added`` … deltas … ``output_item.done``,
and ``response.completed`` (or ``incomplete``) carrying the whole response and its usage."""

from __future__ import annotations

from typing import Any

import orjson

from patchbay.domain.events import (
    Finish,
    ReasoningDelta,
    Start,
    StreamError,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageReport,
)
from patchbay.domain.messages import ToolCall
from patchbay.protocols.common import new_id
from patchbay.protocols.openai_responses.encode import (
    call_item,
    message_item,
    response_object,
    usage_json,
)
from patchbay.protocols.openai_usage import add_cost

TEXT_HEAD = (
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
    b'"sequence_number":'
)
TEXT_TAIL = b',"logprobs":[]}\n\n'
EVENT = b'event: %s\ndata: {"type":"%s","sequence_number":%d,%s}\n\n'
EMPTY_PART = b'"part":{"type":"output_text","text":"","annotations":[]}'


class StreamEncoder:
    def __init__(
        self,
        *,
        model: str,
        include_usage: bool = True,
        response_id: str | None = None,
    ) -> None:
        self.model = model
        self.id = response_id or new_id("resp_")
        self.seq = 0
        self.output: list[dict[str, Any]] = []
        self.open: dict[str, Any] | None = None  # the item being streamed
        self.text: list[str] = []
        self.calls: dict[int, int] = {}  # tool index -> output index
        self.usage: UsageReport | None = None
        self.final: dict[str, Any] | None = None  # the completed response, once encoded
        self.item_fields = b""  # the open message's "item_id", "output_index", "content_index"
        self.text_middle = b""  # its delta event, from the item id to the text

    def _emit(self, kind: str, data: dict[str, Any]) -> bytes:
        body = {"type": kind, "sequence_number": self.seq, **data}
        self.seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(body) + b"\n\n"

    def _written(self, kind: bytes, fields: bytes) -> bytes:
        """``_emit``'s bytes from the JSON of the fields after the type and sequence number."""
        seq, self.seq = self.seq, self.seq + 1
        return EVENT % (kind, kind, seq, fields)

    def _snapshot(self, status: str, finish: str = "stop") -> dict[str, Any]:
        return response_object(
            self.id,
            self.model,
            self.output,
            self.usage.usage if self.usage else None,
            finish,
            status=status,
        )

    def _close_item(self) -> bytes:
        item, self.open = self.open, None
        if item is None:
            return b""
        index = len(self.output)
        if item["type"] == "message":
            text = "".join(self.text)
            done = message_item(text, item["id"])
            self.output.append(done)
            head = self.item_fields
            written = self._written
            return (
                written(
                    b"response.output_text.done",
                    b'%s"text":%s,"logprobs":[]' % (head, orjson.dumps(text)),
                )
                + written(
                    b"response.content_part.done",
                    b'%s"part":%s' % (head, orjson.dumps(done["content"][0])),
                )
                + written(
                    b"response.output_item.done",
                    b'"output_index":%d,"item":%s' % (index, orjson.dumps(done)),
                )
            )
        call = ToolCall(
            item["call_id"],
            item["name"],
            "".join(item["args"]),
            kind=item["kind"],
            namespace=item["namespace"],
        )
        done = call_item(call, item["id"])
        self.output.append(done)
        if call.kind == "custom":
            finished = self._emit(
                "response.custom_tool_call_input.done",
                {"item_id": item["id"], "output_index": index, "input": call.arguments},
            )
        else:
            finished = self._emit(
                "response.function_call_arguments.done",
                {"item_id": item["id"], "output_index": index, "arguments": call.arguments},
            )
        return finished + self._emit(
            "response.output_item.done", {"output_index": index, "item": done}
        )

    def _text(self, delta: str) -> bytes:
        out = b""
        if self.open is None or self.open["type"] != "message":
            out += self._close_item()
            self.open = {"type": "message", "id": new_id("msg_")}
            self.text = []
            index = len(self.output)
            item = {**message_item("", self.open["id"]), "status": "in_progress", "content": []}
            self.item_fields = b'"item_id":%s,"output_index":%d,"content_index":0,' % (
                orjson.dumps(self.open["id"]),
                index,
            )
            self.text_middle = b"," + self.item_fields + b'"delta":'
            out += self._written(
                b"response.output_item.added",
                b'"output_index":%d,"item":%s' % (index, orjson.dumps(item)),
            )
            out += self._written(b"response.content_part.added", self.item_fields + EMPTY_PART)
        self.text.append(delta)
        seq, self.seq = self.seq, self.seq + 1  # _emit's bytes, from a template
        return b"%s%s%d%s%s%s" % (
            out, TEXT_HEAD, seq, self.text_middle, orjson.dumps(delta), TEXT_TAIL
        )  # fmt: skip

    def _call_start(self, event: ToolCallStart) -> bytes:
        out = self._close_item()
        call = ToolCall(event.id, event.name, "", kind=event.kind, namespace=event.namespace)
        item = {**call_item(call), "status": "in_progress"}
        self.open = {
            "type": "function_call",
            "id": item["id"],
            "call_id": event.id,
            "name": event.name,
            "args": [],
            "kind": event.kind,
            "namespace": event.namespace,
        }
        self.calls[event.index] = len(self.output)
        return out + self._emit(
            "response.output_item.added", {"output_index": len(self.output), "item": item}
        )

    def encode(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._text(event.text) if event.text else b""
        if isinstance(event, ToolCallDelta):
            if self.open is None or self.open["type"] != "function_call":
                return b""
            self.open["args"].append(event.arguments)
            kind = (
                "response.custom_tool_call_input.delta"
                if self.open["kind"] == "custom"
                else "response.function_call_arguments.delta"
            )
            return self._emit(
                kind,
                {
                    "item_id": self.open["id"],
                    "output_index": len(self.output),
                    "delta": event.arguments,
                },
            )
        if isinstance(event, ToolCallStart):
            return self._call_start(event)
        if isinstance(event, ReasoningDelta):
            return b""  # reasoning is not streamed to Responses clients as answer text
        if isinstance(event, Start):
            snapshot = b'"response":' + orjson.dumps(self._snapshot("in_progress"))
            return self._written(b"response.created", snapshot) + self._written(
                b"response.in_progress", snapshot
            )
        if isinstance(event, UsageReport):
            self.usage = event
            return b""
        if isinstance(event, Finish):
            return self._finish(event)
        if isinstance(event, StreamError):
            failed = self._snapshot("failed")
            failed["error"] = {"code": "server_error", "message": event.message}
            return self._close_item() + self._emit("response.failed", {"response": failed})
        return b""

    def _finish(self, event: Finish) -> bytes:
        out = self._close_item()
        finish = event.reason
        status = "incomplete" if finish in ("length", "content_filter") else "completed"
        final = self._snapshot(status, finish)
        if self.usage is not None and final["usage"] is not None:
            add_cost(final["usage"], self.usage.cost_usd, self.usage.cost_points)
        self.final = final
        kind = b"response.incomplete" if status == "incomplete" else b"response.completed"
        return out + self._written(kind, b'"response":' + orjson.dumps(final))


__all__ = ["StreamEncoder", "usage_json"]
