"""Slack's file upload flow, as the emulator answers it (slack_sdk's `files_upload_v2`):

1. files.getUploadURLExternal(filename, length[, alt_txt]) -> {upload_url, file_id}
2. POST the bytes to upload_url (a real HTTP endpoint of the emulator) -> 200 "OK - <n>"
3. files.completeUploadExternal(files=[{id, title}], channel_id[, initial_comment,
   thread_ts]) -> {files: [...]}; the file is shared: a message with it appears in the
   channel, as Slack shows an upload.

Checked as Slack checks them: a length that is not a positive integer, bytes that differ from
the announced length, completing a file never uploaded or twice, an unknown channel. Each file
keeps its bytes, so tests can decode what the bot uploaded (`SlackEmulator.files()`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SlackFile:
    id: str
    filename: str
    length: int
    alt_txt: str = ""
    title: str = ""
    content: bytes | None = None  # None until uploaded
    channels: list[str] = field(default_factory=list)
    completed: bool = False
    initial_comment: str = ""

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": self.length,
            "alt_txt": self.alt_txt,
            "channels": list(self.channels),
            "mimetype": "image/png" if self.filename.endswith(".png") else "text/plain",
        }


class Files:
    def __init__(self) -> None:
        self.by_id: dict[str, SlackFile] = {}
        self.lock = threading.Lock()

    def reserve(self, file_id: str, args: dict[str, Any]) -> SlackFile:
        from emulators.slack_webapi import ApiError

        filename = str(args.get("filename") or "")
        if not filename:
            raise ApiError("invalid_arguments", "filename is required")
        try:
            length = int(str(args.get("length") or ""))
        except ValueError:
            raise ApiError("invalid_arguments", "length must be an integer") from None
        if length <= 0:
            raise ApiError("invalid_arguments", "length must be positive")
        found = SlackFile(file_id, filename, length, alt_txt=str(args.get("alt_txt") or ""))
        with self.lock:
            self.by_id[file_id] = found
        return found

    def receive(self, file_id: str, body: bytes) -> str | None:
        """The upload's bytes; an error text if refused."""
        with self.lock:
            found = self.by_id.get(file_id)
            if found is None or found.completed:
                return "upload_url_not_found"
            if len(body) != found.length:
                return f"length mismatch: announced {found.length}, received {len(body)}"
            found.content = body
        return None

    def complete(self, args: dict[str, Any]) -> list[SlackFile]:
        from emulators.slack_webapi import ApiError

        raw = args.get("files")
        try:
            items = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise ApiError("invalid_arguments", "files is not valid JSON") from None
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments", "files must be a non-empty array")
        out = []
        with self.lock:
            for item in items:
                found = self.by_id.get(str((item or {}).get("id") or ""))
                if found is None or found.content is None or found.completed:
                    raise ApiError("file_not_found")
                found.title = str(item.get("title") or found.filename)
                out.append(found)
        return out
