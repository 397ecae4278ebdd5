"""The organisation's OpenID Connect provider (Google Workspace, Microsoft Entra ID, or any other):
the authorization-code flow with PKCE (S256), ``state`` and ``nonce``, as a confidential client.

The provider's endpoints come from its discovery document (``<issuer>/.well-known/openid-configuration``,
whose ``issuer`` must be the one configured). The ID token is verified with PyJWT against the
provider's published keys (JWKS): its signature (an asymmetric algorithm the provider announces,
never ``none`` or a shared secret), ``iss``, ``aud`` (and ``azp`` when there are several audiences),
``exp`` and ``iat`` (a minute's leeway for clocks), and the ``nonce`` this sign-in sent. The
claims are the ID token's, completed by the userinfo endpoint's when the provider has one (its
``sub`` must be the same person's)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import jwt

from shared.config import Settings

TIMEOUT = 10  # seconds for each request to the provider
DISCOVERY_SECONDS = 3600  # how long the discovery document is kept
LEEWAY = 60  # seconds of clock difference allowed on exp and iat
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class ProviderUnavailable(RuntimeError):
    """The provider did not answer as a provider should (down, or not the configured issuer)."""


class ProviderRefused(Exception):
    """The provider, or its answer, refused this sign-in (the person cancelled or is disabled there,
    the code was not accepted, the ID token did not verify)."""


@dataclass(frozen=True)
class Pending:
    """What one sign-in keeps between its start and the provider's answer (in the desk's session)."""

    state: str
    nonce: str
    verifier: str

    def as_dict(self) -> dict:
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier}

    @classmethod
    def from_dict(cls, data) -> "Pending | None":
        try:
            return cls(str(data["state"]), str(data["nonce"]), str(data["verifier"]))
        except (KeyError, TypeError):
            return None


def _get_json(url: str, headers: dict | None = None) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise ProviderRefused(f"{url}: {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from exc


_discovered: dict[str, tuple[float, dict]] = {}
_jwks_clients: dict[str, jwt.PyJWKClient] = {}
_lock = threading.Lock()


def discover(issuer: str) -> dict:
    with _lock:
        found = _discovered.get(issuer)
    if found and time.monotonic() - found[0] < DISCOVERY_SECONDS:
        return found[1]
    try:
        document = _get_json(f"{issuer}/.well-known/openid-configuration")
    except ProviderRefused as exc:
        raise ProviderUnavailable(f"no discovery document: {exc}") from exc
    if document.get("issuer") != issuer:
        raise ProviderUnavailable(f"the discovery document names the issuer {document.get('issuer')!r}, not {issuer!r}")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise ProviderUnavailable(f"the discovery document has no {key}")
    with _lock:
        _discovered[issuer] = (time.monotonic(), document)
    return document


def _jwks(uri: str) -> jwt.PyJWKClient:
    with _lock:
        client = _jwks_clients.get(uri)
        if client is None:
            # keys kept an hour; a token signed with a key not seen yet makes it read them again
            client = _jwks_clients[uri] = jwt.PyJWKClient(uri, cache_keys=True, lifespan=3600, timeout=TIMEOUT)
        return client


def begin(settings: Settings, redirect_uri: str) -> tuple[str, Pending]:
    """The provider's URL to send the browser to, and what to keep until it comes back."""
    document = discover(settings.oidc_issuer)
    pending = Pending(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                      verifier=secrets.token_urlsafe(64))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(pending.verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": settings.oidc_client_id, "redirect_uri": redirect_uri,
        "scope": settings.oidc_scopes, "state": pending.state, "nonce": pending.nonce,
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    endpoint = document["authorization_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending


def state_matches(pending: Pending | None, state: str | None) -> bool:
    return pending is not None and bool(state) and hmac.compare_digest(pending.state.encode(), state.encode("utf-8", "surrogatepass"))


def finish(settings: Settings, code: str, pending: Pending, redirect_uri: str) -> dict:
    """The verified claims of the person the provider sent back with ``code``."""
    document = discover(settings.oidc_issuer)
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": pending.verifier}
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" in methods:
        pair = f"{urllib.parse.quote(settings.oidc_client_id, safe='')}:{urllib.parse.quote(settings.oidc_client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        body.update(client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret)
    request = urllib.request.Request(document["token_endpoint"], data=urllib.parse.urlencode(body).encode(),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            tokens = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise ProviderRefused(f"the token endpoint refused the code: {exc.code} {detail}") from exc
    except (OSError, ValueError) as exc:
        raise ProviderUnavailable(f"token endpoint: {exc}") from exc
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise ProviderRefused("the provider sent no ID token")
    claims = verify_id_token(settings, document, id_token, pending.nonce)
    access_token = tokens.get("access_token")
    if document.get("userinfo_endpoint") and isinstance(access_token, str):
        extra = _get_json(document["userinfo_endpoint"], {"Authorization": f"Bearer {access_token}"})
        if extra.get("sub") != claims["sub"]:
            raise ProviderRefused("userinfo describes another person than the ID token")
        claims = {**extra, **claims}
    return claims


def verify_id_token(settings: Settings, document: dict, id_token: str, nonce: str) -> dict:
    announced = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in announced if a in ASYMMETRIC]
    if not algorithms:
        raise ProviderUnavailable(f"the provider signs ID tokens only with {announced}, none of {ASYMMETRIC}")
    try:
        key = _jwks(document["jwks_uri"]).get_signing_key_from_jwt(id_token).key
        claims = jwt.decode(id_token, key, algorithms=algorithms, audience=settings.oidc_client_id,
                            issuer=settings.oidc_issuer, leeway=LEEWAY,
                            options={"require": ["iss", "sub", "aud", "exp", "iat"]})
    except jwt.PyJWKClientConnectionError as exc:
        raise ProviderUnavailable(f"the provider's keys: {exc}") from exc
    except jwt.PyJWTError as exc:
        raise ProviderRefused(f"the ID token did not verify: {exc}") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise ProviderRefused("the ID token is for several clients and not authorised for sopdesk (azp)")
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise ProviderRefused("the ID token's nonce is not this sign-in's")
    return claims
