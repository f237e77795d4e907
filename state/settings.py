"""Process-wide settings: the one place that reads the environment.

Every field has an embedded default, so nothing needs configuring to run on one
machine (SQLite, a local Chroma directory, the packaged embedding model,
LLM-free mode). Production points the same fields at Postgres, a Chroma server
and a model endpoint. Secrets are ``SecretStr``: they never appear in logs,
``repr`` or ``support-agent doctor``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from state.attachment_limits import AttachmentLimits
from state.policies import EscalationPolicy, PoliciesSettings

CheckpointerKind = Literal["memory", "sqlite", "postgres"]
Durability = Literal["async", "sync", "exit"]
MessagesStorage = Literal["full", "delta"]
FusionMode = Literal["adaptive", "rrf", "dense", "bm25"]


class Settings(BaseSettings):
    """Typed configuration, read from ``SUPPORT_*`` variables and ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="SUPPORT_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,
        env_nested_delimiter="__",
    )

    data_dir: Path = Field(Path(".support-agent"), description="Embedded data lives here.")
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy async URL for the application tables; "
        "default: SQLite file in data_dir.",
    )
    checkpointer: CheckpointerKind = Field("sqlite", description="Where conversations persist.")
    checkpoint_durability: Durability = Field(
        "async",
        description="LangGraph durability: 'async' checkpoints every step in the background, "
        "'sync' waits for each, 'exit' writes once per turn (fewer writes; a crash mid-turn "
        "loses that turn's message).",
    )
    checkpoint_messages: MessagesStorage = Field(
        "full",
        description="How checkpoints store the conversation: 'full' writes the whole message "
        "list at every new version (bytes per turn grow with the thread), 'delta' only each "
        "step's new messages plus a full snapshot every checkpoint_messages_snapshot_every "
        "updates (LangGraph's DeltaChannel, beta). Either reads threads written by the other.",
    )
    checkpoint_messages_snapshot_every: int = Field(
        100,
        ge=1,
        le=5000,
        description="With checkpoint_messages=delta: updates of the conversation between two "
        "full snapshots (1-2 per turn). Larger: fewer bytes written, more writes replayed "
        "when a thread is loaded.",
    )
    postgres_url: SecretStr | None = Field(
        None, description="libpq URL for the Postgres checkpointer (postgresql://...)."
    )
    postgres_pool_size: int = Field(10, ge=1)
    chroma_url: str | None = Field(None, description="Chroma server URL; default: embedded.")
    embedding_model_path: Path | None = Field(
        None, description="sentence-transformers model directory; default: the packaged model."
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    query_cache_size: int = Field(1024, ge=0, description="Query embeddings kept in memory.")
    embedding_batching: bool = Field(
        True,
        description="Embed the queries of concurrent turns in one model call "
        "(bench/concurrency.py measures with and without).",
    )
    chunk_tokens: int = Field(220, ge=32, le=256, description="Max tokens per chunk.")
    chunk_overlap_tokens: int = Field(32, ge=0, le=128)
    retrieval_k: int = Field(5, ge=1, le=50, description="Documents passed to the answer.")
    candidate_k: int = Field(40, ge=5, le=500, description="Chunks fetched per retriever.")
    fusion: FusionMode = Field("adaptive", description="How dense and BM25 are combined.")
    abstain_threshold: float | None = Field(
        None, ge=-1.0, le=1.0, description="Fixed cosine threshold; default: calibrated per KB."
    )
    max_message_chars: int = Field(8000, ge=100, description="Longer messages are rejected.")
    executor_workers: int = Field(2, ge=1, le=64, description="Threads for blocking work.")
    company_name: str = Field("our company", description="Named in the model's prompt.")
    default_tenant: str = "default"
    default_user: str = Field(
        "anonymous", description="User of runs that name none; 'anonymous' is never remembered."
    )
    llm_model: str | None = Field(None, description="Model name; unset means LLM-free mode.")
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SUPPORT_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("SUPPORT_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    memory_enabled: bool = Field(True, description="Remember facts customers state.")
    memory_top_k: int = Field(5, ge=0, le=50, description="Memories recalled per turn.")
    thread_retention_days: float = Field(
        90.0,
        gt=0,
        description="Conversations idle for longer are deleted by `threads prune` "
        "(with their files); threads a human still has are kept.",
    )
    turn_deadline_s: float = Field(
        15.0,
        gt=0,
        description="End-to-end budget of a turn: model calls, retries and Retry-After waits "
        "fit in it, and what does not fit falls back at once (the extractive answer).",
    )
    memory_extraction_timeout_s: float = Field(
        4.0,
        gt=0,
        description="How long the model may take to extract memories before the rules do "
        "it instead (what the customer said is never lost to a slow model).",
    )
    memory_cache_max_memories: int = Field(
        100_000,
        ge=0,
        description="Memories (vectors) kept in process for recall, per (tenant, user), "
        "checked against the database on every recall; 0 = no cache.",
    )
    memory_half_life_days: float = Field(
        30.0, gt=0, description="Recency decay of memory relevance (days to halve)."
    )
    memory_dedup_threshold: float = Field(
        0.75,
        ge=0,
        le=1,
        description="Cosine above which a free-text memory merges into an old one "
        "(bench/memory.py: precision .92, recall .60 on labelled pairs).",
    )
    memory_ttl_days: dict[str, float] = Field(
        default_factory=lambda: {"fact": 365.0, "preference": 730.0, "issue": 90.0},
        description="Days a memory of each kind lives before it is archived.",
    )
    memory_archive_retention_days: float = Field(
        30.0, ge=0, description="Days archived memories are kept before deletion."
    )
    memory_encryption_key: SecretStr | None = Field(
        None,
        description="Fernet key(s), comma-separated, newest first: encrypts memory content "
        "and keys its hashes. Rotate by prepending a new key.",
    )
    kb_internal_pattern: str = Field(
        r"\(internal\)\s*$|(^|/)internal/",
        description="Documents whose title or id matches (case-insensitive) are for staff: "
        "never cited, quoted or listed to customers, attached to tickets instead. A "
        "document's own metadata.audience (internal / staff, or customer) wins over it.",
    )
    kb_url_template: str | None = Field(
        None,
        description="The customer-facing page of an article, e.g. "
        "'https://help.example.com/{stem}' ({doc_id}: the document's id, {stem}: the id "
        "without its file extension); a record's metadata.url wins. Unset: titles only.",
    )
    kb_url_templates: dict[str, str] = Field(
        default_factory=dict, description="Per-tenant URL templates (JSON)."
    )
    kb_internal_patterns: dict[str, str] = Field(
        default_factory=dict, description="Per-tenant (per knowledge base) patterns (JSON)."
    )
    escalation: EscalationPolicy = Field(
        default_factory=EscalationPolicy, description="When conversations go to a human."
    )
    escalation_tenants: dict[str, EscalationPolicy] = Field(
        default_factory=dict, description="Per-tenant escalation policies (JSON)."
    )
    escalation_webhook_url: str | None = Field(
        None, description="Helpdesk endpoint that receives tickets as signed JSON."
    )
    escalation_webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key for the X-Support-Signature header."
    )
    redis_url: SecretStr | None = Field(
        None, description="Redis for circuit-breaker state shared by workers; unset = in process."
    )
    breaker_sync_interval_s: float = Field(
        0.5, gt=0, le=60, description="How often shared breaker state is pulled from Redis."
    )
    policies: PoliciesSettings = Field(
        default_factory=PoliciesSettings,
        description="Timeouts, retries and breakers per dependency "
        "(SUPPORT_POLICIES__MODEL__TIMEOUT_S=20).",
    )
    attachments: AttachmentLimits = Field(
        default_factory=AttachmentLimits,
        description="Checks and conversion limits for customers' files "
        "(SUPPORT_ATTACHMENTS__MAX_BYTES=5000000).",
    )
    attachment_threshold: float = Field(
        0.2,
        ge=-1.0,
        le=1.0,
        description="Cosine above which a passage of this thread's attachments is relevant.",
    )
    langsmith_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SUPPORT_LANGSMITH_API_KEY", "LANGSMITH_API_KEY"),
        description="When set, evaluation runs are also recorded as LangSmith experiments.",
    )
    auth_jwt_secret: SecretStr | None = Field(
        None, description="Server API: HS256 secret that signs callers' JWTs."
    )
    auth_jwt_public_key: str | None = Field(
        None, description="Server API: PEM public key of RS256-signed JWTs (instead of a secret)."
    )
    auth_jwks_url: str | None = Field(
        None, description="Server API: JWKS URL of RS256 signing keys (instead of a key)."
    )
    auth_jwt_audience: str | None = Field(None, description="Required 'aud' of tokens, if set.")
    auth_jwt_issuer: str | None = Field(None, description="Required 'iss' of tokens, if set.")
    auth_user_claim: str = Field("sub", description="Token claim holding the user id.")
    auth_tenant_claim: str = Field("tenant_id", description="Token claim holding the tenant.")
    auth_role_claim: str = Field(
        "role", description="Token claim holding the role: customer (default), agent or admin."
    )
    auth_seal_secret: SecretStr | None = Field(
        None,
        description="Key that seals the caller the auth handler hands to the graph, so a run "
        "cannot forge it in its config; default: the JWT secret (required with RS256).",
    )
    auth_allow_unauthenticated: bool = Field(
        False,
        description="Development only: serve the API with no token key (callers choose the "
        "context, as embedded). Without a key and without this, the server refuses to start.",
    )
    server_url: str | None = Field(
        None, description="LangGraph server API URL, so `forget` also deletes server threads."
    )
    server_admin_token: SecretStr | None = Field(
        None, description="An admin JWT for SUPPORT_SERVER_URL (forget deletes with it)."
    )
    log_level: str = "WARNING"

    @model_validator(mode="after")
    def _postgres_needs_url(self) -> Settings:
        if self.checkpointer == "postgres" and self.postgres_url is None:
            raise ValueError("SUPPORT_CHECKPOINTER=postgres needs SUPPORT_POSTGRES_URL")
        # Checked here so a typo is reported without echoing the URL (and its password).
        if self.postgres_url is not None and not self.postgres_url.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("SUPPORT_POSTGRES_URL must start with postgresql://")
        if self.database_url is not None and "://" not in self.database_url.get_secret_value():
            raise ValueError("SUPPORT_DATABASE_URL must be a SQLAlchemy URL (dialect+driver://...)")
        return self

    def article_url(self, tenant_id: str, meta: dict[str, Any]) -> str | None:
        """The customer-facing page of a document (its metadata.url, else the template)."""
        if isinstance(meta.get("url"), str) and meta["url"].startswith(("https://", "http://")):
            return str(meta["url"])
        template = self.kb_url_templates.get(tenant_id, self.kb_url_template)
        if not template:
            return None
        doc_id = str(meta.get("doc_id", ""))
        stem = doc_id.rsplit(".", 1)[0] if "." in doc_id.rsplit("/", 1)[-1] else doc_id
        return template.format(doc_id=quote(doc_id), stem=quote(stem))

    def internal_pattern(self, tenant_id: str) -> str:
        """The rule that marks a tenant's staff-only documents (see ``kb_internal_pattern``)."""
        return self.kb_internal_patterns.get(tenant_id, self.kb_internal_pattern)

    def escalation_policy(self, tenant_id: str) -> EscalationPolicy:
        """The tenant's escalation policy (the default one unless overridden)."""
        return self.escalation_tenants.get(tenant_id, self.escalation)

    @property
    def llm_enabled(self) -> bool:
        """Whether a model endpoint is configured (otherwise: LLM-free mode)."""
        return bool(self.llm_model)

    @property
    def sqlalchemy_url(self) -> str:
        """The application database URL, defaulting to SQLite under ``data_dir``."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{(self.data_dir / 'support.db').resolve()}"

    @property
    def checkpoint_path(self) -> Path:
        """SQLite file for the embedded checkpointer."""
        return self.data_dir / "checkpoints.db"

    @property
    def chroma_path(self) -> Path:
        """Directory of the embedded Chroma store."""
        return self.data_dir / "chroma"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
