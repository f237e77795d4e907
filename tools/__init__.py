"""The agent's capabilities, one folder each.

``knowledge_base``, ``memory``, ``attachments``, ``escalation``, ``identity`` and
``resilience`` (with ``embeddings`` and ``redaction`` shared by several of them);
``registry`` builds the tools the model may call and ``services`` the long-lived
dependencies a turn needs. This package imports nothing itself, so the attachment
worker and the command line start without loading the rest.
"""
