import pytest
from pydantic import ValidationError

from state import Context, Settings


def test_embedded_defaults_need_no_configuration(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SUPPORT_LLM_MODEL", "SUPPORT_CHECKPOINTER"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.checkpointer == "sqlite"
    assert not settings.llm_enabled
    assert settings.sqlalchemy_url.startswith("sqlite+aiosqlite:///")
    assert str(settings.chroma_path).endswith(".support-agent/chroma")


def test_model_is_configured_by_the_usual_openai_variables(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:1234/v1")
    monkeypatch.setenv("SUPPORT_LLM_MODEL", "local-model")
    settings = Settings(_env_file=None)
    assert settings.llm_enabled
    assert settings.openai_base_url == "http://localhost:1234/v1"
    assert settings.openai_api_key.get_secret_value() == "sk-test-secret-value"
    assert "sk-test-secret-value" not in repr(settings)
    assert "sk-test-secret-value" not in str(settings.model_dump())


def test_postgres_checkpointer_requires_a_url(monkeypatch):
    monkeypatch.delenv("SUPPORT_POSTGRES_URL", raising=False)
    with pytest.raises(ValidationError, match="SUPPORT_POSTGRES_URL"):
        Settings(_env_file=None, checkpointer="postgres")


def test_invalid_values_are_rejected(monkeypatch):
    monkeypatch.setenv("SUPPORT_RETRIEVAL_K", "0")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_context_rejects_unsafe_identifiers():
    assert Context(tenant_id="acme", user_id="u-1@x").tenant_id == "acme"
    for bad in ("", "../etc", "a b", "x" * 200):
        with pytest.raises(ValueError):
            Context(tenant_id=bad)


def test_env_example_lists_every_setting():
    from tests.conftest import ROOT

    listed = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    from state.policies import PoliciesSettings, ResiliencePolicy

    expected = {
        f"SUPPORT_POLICIES__{tool.upper()}__{field.upper()}"
        for tool in PoliciesSettings.model_fields
        for field in ResiliencePolicy.model_fields
    }
    from state.policies import EscalationPolicy

    expected |= {f"SUPPORT_ESCALATION__{f.upper()}" for f in EscalationPolicy.model_fields}
    from state.attachment_limits import AttachmentLimits

    expected |= {f"SUPPORT_ATTACHMENTS__{f.upper()}" for f in AttachmentLimits.model_fields}
    for name, field in Settings.model_fields.items():
        if name in ("policies", "escalation", "attachments"):
            continue
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        expected.add(choices[-1] if choices else f"SUPPORT_{name.upper()}")
    assert expected == listed


def test_empty_values_from_a_copied_env_example_mean_defaults(tmp_path):
    from tests.conftest import ROOT

    env_file = tmp_path / ".env"
    env_file.write_text((ROOT / ".env.example").read_text())
    settings = Settings(_env_file=env_file)
    assert settings.database_url is None and settings.abstain_threshold is None
    assert settings.checkpointer == "sqlite"
