import time

import jwt
import pytest

from state import Context, Settings
from tools.identity import Caller, TokenVerifier, bearer_token, run_context, server_caller
from tools.identity.tokens import seal
from tools.resilience.errors import AuthenticationError, IdentityError

SECRET = "test-secret-that-is-long-enough-for-hs256"
OTHER = "another-secret-that-is-long-enough-too"


def token(claims: dict, secret: str = SECRET, expires_in: float = 300) -> str:
    return jwt.encode({"exp": time.time() + expires_in, **claims}, secret, algorithm="HS256")


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(Settings(_env_file=None, auth_jwt_secret=SECRET))


def test_a_valid_token_names_the_caller(verifier):
    caller = verifier.verify(token({"sub": "alice", "tenant_id": "acme", "role": "agent"}))
    assert caller == Caller("alice", "acme", "agent") and caller.is_staff
    assert verifier.verify(token({"sub": "bob", "tenant_id": "acme"})).role == "customer"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda: token({"sub": "a", "tenant_id": "t"}, secret=OTHER),
            "invalid token (InvalidSignatureError)",
        ),
        (lambda: token({"sub": "a", "tenant_id": "t"}, expires_in=-10), "token expired"),
        (lambda: token({"sub": "a"}), "lacks the 'sub' or 'tenant_id' claim"),
        (lambda: token({"sub": "a", "tenant_id": "t", "role": "root"}), "unknown role 'root'"),
        (lambda: "not-a-jwt", "invalid token (DecodeError)"),
        (
            lambda: jwt.encode({"sub": "a", "tenant_id": "t"}, SECRET, algorithm="HS256"),
            "invalid token (MissingRequiredClaimError)",
        ),
    ],
)
def test_bad_tokens_are_refused_with_the_reason(verifier, make, reason):
    with pytest.raises(AuthenticationError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        verifier.verify(make())


def test_claim_names_are_configurable():
    verifier = TokenVerifier(
        Settings(
            _env_file=None,
            auth_jwt_secret=SECRET,
            auth_user_claim="uid",
            auth_tenant_claim="org",
            auth_role_claim="kind",
        )
    )
    assert verifier.verify(token({"uid": "u1", "org": "o1", "kind": "admin"})) == Caller(
        "u1", "o1", "admin"
    )


def test_the_authorization_header_must_be_a_bearer_token():
    assert bearer_token(b"Bearer abc") == "abc"
    with pytest.raises(AuthenticationError, match="missing bearer token"):
        bearer_token(None)
    with pytest.raises(AuthenticationError, match="malformed"):
        bearer_token("Basic dXNlcjpwdw==")


def test_without_a_key_nothing_is_configured():
    assert not TokenVerifier(Settings(_env_file=None)).configured


CUSTOMER = Caller("alice", "acme", "customer")
AGENT = Caller("sam", "acme", "agent")


def test_the_token_decides_and_the_context_may_only_narrow():
    assert run_context({}, CUSTOMER) == Context(tenant_id="acme", user_id="alice")
    assert run_context(None, CUSTOMER) == Context(tenant_id="acme", user_id="alice")
    assert run_context({"user_id": "alice"}, CUSTOMER).user_id == "alice"
    # an agent acts for a customer of its own tenant
    assert run_context({"user_id": "alice"}, AGENT) == Context(tenant_id="acme", user_id="alice")


@pytest.mark.parametrize(
    ("context", "caller", "reason"),
    [
        ({"user_id": "bob"}, CUSTOMER, "is not your token's user"),
        ({"tenant_id": "globex"}, CUSTOMER, "is not your token's tenant"),
        ({"tenant_id": "globex", "user_id": "alice"}, AGENT, "is not your token's tenant"),
        ({"tenantId": "acme"}, CUSTOMER, "unknown context key"),
        ({"tenantId": "acme"}, None, "unknown context key"),
        ({"user_id": "bad id!"}, None, "invalid context"),
    ],
)
def test_a_context_that_disagrees_with_the_token_is_refused(context, caller, reason):
    with pytest.raises(IdentityError, match=reason):
        run_context(context, caller)


def test_embedded_context_is_used_as_it_is():
    given = Context(tenant_id="t1", user_id="u1", abstain_threshold=0.3)
    assert run_context(given) == given


class AegraUser:
    """Aegra's user object: attributes only, not subscriptable."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


KEY = b"seal-key"


def test_the_server_user_is_read_from_either_server():
    alice = {"user_id": "alice", "tenant_id": "acme", "role": "customer"}
    assert server_caller({**alice, "seal": seal(CUSTOMER, KEY)}, KEY) == CUSTOMER
    sam = AegraUser(user_id="sam", tenant_id="acme", role="agent", seal=seal(AGENT, KEY))
    assert server_caller(sam, KEY) == AGENT
    assert server_caller(AegraUser(identity="langgraph-studio-user"), KEY) is None
    assert server_caller(None, KEY) is None


def test_a_user_forged_in_the_run_config_is_refused():
    """Some servers keep a ``langgraph_auth_user`` the request itself carried."""
    forged = {"user_id": "alice", "tenant_id": "acme", "role": "admin", "seal": "0" * 64}
    with pytest.raises(IdentityError, match="not authenticated by this server"):
        server_caller(forged, KEY)
    unsealed = {"user_id": "alice", "tenant_id": "acme", "role": "customer"}
    with pytest.raises(IdentityError):
        server_caller(unsealed, KEY)
    upgraded = {**unsealed, "role": "admin", "seal": seal(CUSTOMER, KEY)}
    with pytest.raises(IdentityError):
        server_caller(upgraded, KEY)
