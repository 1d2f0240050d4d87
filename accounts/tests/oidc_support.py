"""OpenID providers for the single sign-on tests (docs/sign-in.md).

`OpenIdProvider`: node's oidc-provider (installed by `make oidc` into var/oidc), a real
provider in its own process (accounts/tests/oidc_provider.mjs), on a port the OS picks.

`HostileProvider`: the attacker's provider, a small real HTTP server in a thread that
serves discovery, its JWKS and a token endpoint answering an ID token crafted by the
test (signed with another key, `alg: none`, for another audience, expired, from
another issuer, with another nonce). Pan talks to it over HTTP as to any provider.
"""

import base64
import json
import os
import selectors
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

BASE_DIR = Path(__file__).resolve().parents[2]
PROVIDER_MODULE = BASE_DIR / "var" / "oidc" / "node_modules" / "oidc-provider" / "lib" / "index.js"
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
CLIENT_ID, CLIENT_SECRET = "pan", "pan-client-secret-for-tests"


class OpenIdProvider:
    def __init__(self, users: dict, redirect_uris=(), post_logout_redirect_uris=()):
        self.tmp = Path(tempfile.mkdtemp(prefix="pan-oidc-"))
        self.users_file, self.uris_file = self.tmp / "users.json", self.tmp / "uris.json"
        self.set_users(users)
        self.set_uris(list(redirect_uris), list(post_logout_redirect_uris))
        self.proc = None
        self.issuer = ""

    def set_users(self, users: dict) -> None:
        self.users_file.write_text(json.dumps(users))

    def set_uris(self, redirect_uris: list, post_logout_redirect_uris: list) -> None:
        self.uris_file.write_text(
            json.dumps({"redirect_uris": redirect_uris, "post_logout_redirect_uris": post_logout_redirect_uris})
        )

    def start(self, timeout: float = 30) -> "OpenIdProvider":
        if not PROVIDER_MODULE.exists():
            raise RuntimeError("oidc-provider is not installed: run `make oidc`")
        env = {
            **os.environ,
            "OIDC_PROVIDER_MODULE": str(PROVIDER_MODULE),
            "PORT": "0",
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "URIS_FILE": str(self.uris_file),
            "USERS_FILE": str(self.users_file),
        }
        self.log = open(self.tmp / "provider.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - our own script
            ["node", str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=self.log
        )
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline, line = time.monotonic() + timeout, b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None or not selector.select(left):
                self.stop()
                raise RuntimeError(f"the OpenID provider did not start: {(self.tmp / 'provider.log').read_text()}")
            line += os.read(self.proc.stdout.fileno(), 1)
        selector.close()
        assert line.startswith(b"READY "), line
        self.issuer = line.decode().split()[1]
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.proc is not None:
            self.proc.stdout.close()
            self.log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def sign_in_at_provider(http: httpx.Client, authorize_url: str, login: str, callback_prefix: str) -> str:
    """Follow the provider's pages from `authorize_url` as a browser would, post its
    login form as `login`, and return the address it sends the browser back to
    (starting with `callback_prefix`, Pan's redirect URI), not followed."""
    url = authorize_url
    for _step in range(10):
        response = http.get(url)
        while True:
            if response.is_redirect:
                url = urljoin(str(response.url), response.headers["location"])
                if url.startswith(callback_prefix):
                    return url
                break
            assert response.status_code == 200, (response.status_code, response.text[:500])
            html = response.text
            assert 'name="prompt" value="login"' in html, html[:500]
            action = html.split('action="', 1)[1].split('"', 1)[0]
            response = http.post(
                urljoin(str(response.url), action), data={"prompt": "login", "login": login, "password": "any"}
            )
    raise AssertionError("the provider never sent the browser back")


# --- The attacker's provider -------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict) -> str:
    """An ID token with `alg: none` and no signature."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


class HostileProvider:
    """Serves discovery, JWKS (its key `k1`), an authorization endpoint that sends the
    browser straight back with a code, and a token endpoint answering `self.forge(claims)`:
    a function of the honest claims (with the nonce Pan sent) returning the ID token."""

    def __init__(self, client_id: str = CLIENT_ID):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.client_id = client_id
        self.forge = self.sign
        self.last_authorization: dict = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, body):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    self._json(provider.discovery())
                elif path == "/jwks":
                    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                    self._json({"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]})
                elif path == "/auth":
                    params = {k: v[0] for k, v in parse_qs(query).items()}
                    provider.last_authorization = params
                    self.send_response(302)
                    back = urlencode({"code": "hostile-code", "state": params.get("state", "")})
                    self.send_header("Location", f"{params['redirect_uri']}?{back}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_error(404)

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/token":
                    self.send_error(404)
                    return
                nonce = provider.last_authorization.get("nonce")
                self._json(
                    {
                        "access_token": "hostile",
                        "token_type": "Bearer",
                        "id_token": provider.forge(provider.claims(nonce)),
                    }
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/auth",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        }

    def claims(self, nonce) -> dict:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "sub": "mallory-subject",
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "preferred_username": "mallory",
            "groups": ["pan-admins"],
        }

    def sign(self, claims: dict, key=None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": "k1"})

    def start(self) -> "HostileProvider":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"
