"""Customers' files.

Found in message blocks, checked, converted in an isolated process, stored and
searched within their thread.

``worker`` runs in the fork server (``python -m tools.attachments.worker``) and
must stay importable without the rest of the agent.
"""

from tools.attachments.checks import FileCheck, check_file, detect_type
from tools.attachments.converter import Conversion, IsolatedConverter
from tools.attachments.input import IncomingFile, RefusedBlock, split_content
from tools.attachments.store import (
    AttachmentRef,
    AttachmentStore,
    StoredAttachment,
    attachment_doc_id,
)

__all__ = [
    "AttachmentRef",
    "AttachmentStore",
    "Conversion",
    "FileCheck",
    "IncomingFile",
    "IsolatedConverter",
    "RefusedBlock",
    "StoredAttachment",
    "attachment_doc_id",
    "check_file",
    "detect_type",
    "split_content",
]
