"""Pan settings: one module, every value from the environment or `.env`.

The embedded default needs nothing but Python packages: SQLite (WAL), the
local-memory cache, the in-memory channel layer and files under `media/`.
`DATABASE_URL`, `REDIS_URL` and the `S3_*` variables switch to real services.
Every variable is listed, with a comment, in `.env.example`.
"""

import ipaddress
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from corsheaders.defaults import default_headers as cors_default_headers
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from project.checks import GENERATE_HINT, OPTIONAL_SECRET_NAMES, SECRET_NAMES, secret_problems

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Variables already in the environment win over the file. ENV_FILE names
# another file; empty reads none (the tests do that, to stay hermetic).
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SITE_NAME = env.str("SITE_NAME", default="Pan")
# Where people reach this site; used for links made outside a request
# (management commands). Inside a request, links follow the request's host.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")


def _dev_secret(name: str) -> str:
    """A secret for development, generated once.

    Generated secrets live in the git-ignored `.dev-secrets.json`, so a
    restart keeps sessions and tokens valid. Only with DEBUG on: production
    never runs on a made-up key.
    """
    path = BASE_DIR / ".dev-secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if name not in stored:
        stored[name] = secrets.token_urlsafe(50)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    return stored[name]


# A secret that is missing (unless DEBUG generates it), a placeholder from
# .env.example, shorter than 32 characters or equal to another stops the
# start, with every problem named (project/checks.py, which also reports
# them as system checks). An optional secret (METRICS_TOKEN) may be empty
# (off); set, the same rules hold for it.
_given_secrets = {name: env.str(name, default="") for name in (*SECRET_NAMES, *OPTIONAL_SECRET_NAMES)}
_secret_problems = secret_problems(
    {
        name: value
        for name, value in _given_secrets.items()
        if value or (not DEBUG and name not in OPTIONAL_SECRET_NAMES)
    }
)
if _secret_problems:
    raise ImproperlyConfigured(
        "Pan refuses to start with these secrets:\n"
        + "".join(f"  - {problem.message}\n" for problem in _secret_problems)
        + GENERATE_HINT
    )
SECRET_KEY = _given_secrets["SECRET_KEY"] or _dev_secret("SECRET_KEY")
JWT_SIGNING_KEY = _given_secrets["JWT_SIGNING_KEY"] or _dev_secret("JWT_SIGNING_KEY")
SERVER_STATUS_TOKEN = _given_secrets["SERVER_STATUS_TOKEN"] or _dev_secret("SERVER_STATUS_TOKEN")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Proxies whose X-Forwarded-For is believed (addresses or networks).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

INSTALLED_APPS = [
    "daphne",
    "project.admin_apps.PanAdminConfig",  # django.contrib.admin with Pan's door (project/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "csp",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "project",
    "accounts",
    "pan",
    "shortener",
    "audit",
    "dropoff",
    "events",
    "uploads",
    "jobs",
    "webhooks",
]

MIDDLEWARE = [
    # All of it runs in the event loop under ASGI (Django's own and
    # WhiteNoise through project/lib/native.py, ours natively): a page's
    # only thread hand-off is its view (docs/performance.md).
    # Outermost: times everything below it and stamps every response,
    # 404, 429 and 500 pages included.
    "project.middleware.TimingMiddleware",
    # Before anything asks request.is_secure(): X-Forwarded-Proto only from
    # TRUSTED_PROXIES (BEHIND_TLS_PROXY).
    "project.middleware.ForwardedProtoMiddleware",
    "project.lib.native.SecurityMiddleware",
    "project.lib.native.StaticFilesMiddleware",
    # Content-Security-Policy on every response below static files, 404,
    # 429, 500 and 503 pages included; `request.csp_nonce` for templates.
    "project.lib.native.CSPMiddleware",
    "project.lib.native.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "project.lib.native.LocaleMiddleware",
    "project.lib.native.CommonMiddleware",
    "project.lib.native.CsrfViewMiddleware",
    "project.lib.native.AuthenticationMiddleware",
    # Who is acting and from where, for the audit log (audit/middleware.py).
    "audit.middleware.AuditContextMiddleware",
    # 503 when the database is unreachable: for a view that finds it so,
    # and for a session's user, looked up here before the rate limiter.
    "project.middleware.DatabaseUnavailableMiddleware",
    # A service error a page view let through (a code over the guessing
    # limits, a request that is gone): error_page, never a 500.
    "project.middleware.ServiceErrorMiddleware",
    # After sessions and auth (keys signed-in users by user) and locale (the
    # 429 page speaks the client's language); inside CORS so browsers can
    # read a 429.
    "project.middleware.RateLimitMiddleware",
    "project.lib.native.MessageMiddleware",
    "project.lib.native.XFrameOptionsMiddleware",
    # Last: MFA_REQUIRED_FOR_ADMINS: an admin without a second factor sees only the
    # page that sets one up (accounts/middleware.py).
    "accounts.middleware.SecondFactorSetupMiddleware",
]

# Django's deploy checks look for its own middleware paths; ours subclass
# them, and project/lib/native.py runs those checks with the paths mapped
# back (reporting these three as pan.security.W00x when they really apply).
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "project.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        options = DATABASES["default"].setdefault("OPTIONS", {})
        # With PostgreSQL unreachable a request fails within these bounds and
        # answers 503 (project.middleware.DatabaseUnavailableMiddleware, and
        # the API's exception handler), instead of waiting 30 s for a 500:
        # a connection attempt gives up after DATABASE_CONNECT_TIMEOUT (a
        # host that drops packets; a refused port fails at once), and a
        # request waits at most DATABASE_POOL_TIMEOUT for a pooled
        # connection (the pool connects in the background and retries).
        options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3))
        # On a connection already open (docs/middleware.md, "Faults"): the
        # server cancels a statement after DATABASE_STATEMENT_TIMEOUT
        # seconds and ends a session idle inside a transaction (a client
        # that froze holding locks) after DATABASE_IDLE_IN_TRANSACTION_TIMEOUT;
        # 0 turns either off. A server that does not answer at all enforces
        # nothing, so the client gives up too, one second after the statement
        # timeout (project/lib/bounded_pg.py): every wait for PostgreSQL is
        # bounded.
        from project.lib.bounded_pg import bounded_connection_class

        statement_timeout = env.float("DATABASE_STATEMENT_TIMEOUT", default=5.0)
        idle_in_transaction = env.float("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT", default=60.0)
        server_options = (
            f"-c statement_timeout={round(statement_timeout * 1000)}"
            f" -c idle_in_transaction_session_timeout={round(idle_in_transaction * 1000)}"
        )
        options["options"] = f"{options.get('options', '')} {server_options}".strip()
        # A host that vanished (crashed, cut off) acknowledges nothing: the
        # kernel then gives up on unacknowledged data after
        # DATABASE_TCP_USER_TIMEOUT, and on an idle connection after about
        # that long of unanswered keepalives.
        tcp_user_timeout = env.float("DATABASE_TCP_USER_TIMEOUT", default=10.0)
        options.setdefault("keepalives", 1)
        options.setdefault("keepalives_idle", max(1, round(tcp_user_timeout / 2)))
        options.setdefault("keepalives_interval", max(1, round(tcp_user_timeout / 6)))
        options.setdefault("keepalives_count", 3)
        options.setdefault("tcp_user_timeout", round(tcp_user_timeout * 1000))
        # Each ASGI request runs its sync part in a fresh thread, so
        # CONN_MAX_AGE cannot reuse connections; the pool can.
        options["pool"] = {
            "min_size": 1,
            "max_size": env.int("DATABASE_POOL_SIZE", default=20),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=5.0),
            # Idle connections above min_size close after this long, so few
            # stale ones wait in the pool after a burst.
            "max_idle": 60.0,
            "connection_class": bounded_connection_class(statement_timeout),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        # The pool checks a connection (one empty query, bounded as above)
        # before handing it out, so one that died while idle (a restarted
        # server) is replaced instead of failing a request.
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_POOL_CHECK", default=True)
else:
    DATABASES = {
        "default": {
            # Django's backend with connections kept between requests (project/sqlite/base.py).
            "ENGINE": "project.sqlite",
            "NAME": BASE_DIR / env.str("SQLITE_PATH", default="db.sqlite3"),  # relative: to the project
            "OPTIONS": {
                # WAL lets readers work while one writer writes; IMMEDIATE
                # takes the write lock at BEGIN so two writers queue on the
                # busy timeout instead of failing with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and channel layer ------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Live limit windows the in-process store holds at most (embedded default;
# about 300 bytes each). Full, it refuses new windows rather than forget one.
LIMITS_MAX_ENTRIES = env.int("LIMITS_MAX_ENTRIES", default=200_000)
# Redis is optional at run time (docs/middleware.md, "Faults: Redis"): a
# call that gets no answer within REDIS_SOCKET_TIMEOUT seconds fails, and
# the breaker then skips Redis for REDIS_BREAKER_SECONDS, so a stopped or
# frozen Redis costs a request at most one timeout (project/lib/redis_breaker.py).
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
REDIS_BREAKER_SECONDS = env.float("REDIS_BREAKER_SECONDS", default=5.0)
if REDIS_URL:
    from project.lib.redis_breaker import connection_class as redis_connection_class

    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="pan"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "CONNECTION_POOL_KWARGS": {"connection_class": redis_connection_class(REDIS_URL)},
            },
        },
    }
    # Limit windows (project/lib/limit_store.py): the same Redis under a key
    # prefix of their own; /server-status warns unless maxmemory-policy is
    # noeviction.
    CACHES["limits"] = {**CACHES["default"], "KEY_PREFIX": f"{CACHES['default']['KEY_PREFIX']}:limits"}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # No socket_timeout here: receiving blocks on Redis
                        # for up to 5 s by design (BZPOPMIN). Sends are
                        # bounded by their callers (events/services.py).
                        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                        "connection_class": redis_connection_class(REDIS_URL, asynchronous=True),
                    }
                ]
            },
        }
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pan"},
        # Limit windows in a store of their own that never drops a live one
        # (project/lib/limit_store.py); full, it refuses new windows.
        "limits": {
            "BACKEND": "project.lib.limit_store.LimitStore",
            "LOCATION": "pan-limits",
            "OPTIONS": {"MAX_ENTRIES": LIMITS_MAX_ENTRIES},
        },
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Accounts -------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/welcome/"
LOGOUT_REDIRECT_URL = "/"
# Roles given to every user registered after the first (who gets admin too).
DEFAULT_ROLES = env.list("DEFAULT_ROLES", default=["users"])
# Failed logins: after this many within the window, for one username or one
# client address, logins answer 429 until the window ends.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_CLIENT_FAILURE_LIMIT = env.int("LOGIN_CLIENT_FAILURE_LIMIT", default=20)
LOGIN_FAILURE_WINDOW = env.int("LOGIN_FAILURE_WINDOW", default=900)
# Device cookies (docs/security.md): a browser or client that signed in
# as a user before is limited per device (LOGIN_DEVICE_FAILURE_LIMIT in the
# same window), not per username, so guessing from elsewhere cannot lock the
# owner out (0 turns that off). The cookie (and the API's `device` token) lasts
# this many seconds.
LOGIN_DEVICE_FAILURE_LIMIT = env.int("LOGIN_DEVICE_FAILURE_LIMIT", default=10)
LOGIN_DEVICE_COOKIE_AGE = env.int("LOGIN_DEVICE_COOKIE_AGE", default=365 * 24 * 3600)
# A second factor (docs/second-factor.md): TOTP, recovery codes, passkeys.
# How long a sign-in whose password was right waits for its second step.
MFA_CHALLENGE_SECONDS = env.int("MFA_CHALLENGE_SECONDS", default=300)
# True: holders of the admin role without a second factor are sent to set one
# up before anything else (pages redirect, the API answers 403 mfa_setup_required).
MFA_REQUIRED_FOR_ADMINS = env.bool("MFA_REQUIRED_FOR_ADMINS", default=False)
# The name authenticator apps show beside the account.
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="") or SITE_NAME
# Passkeys: the WebAuthn relying party. The RP ID is the site's host name
# (empty: the host of each request, without the port); passkeys made for one
# RP ID work only there.
MFA_WEBAUTHN_RP_ID = env.str("MFA_WEBAUTHN_RP_ID", default="")
MFA_WEBAUTHN_RP_NAME = env.str("MFA_WEBAUTHN_RP_NAME", default="") or SITE_NAME

# --- Single sign-on (OpenID Connect; docs/sign-in.md) ----------------------
# Off unless OIDC_ISSUER and OIDC_CLIENT_ID are set: no button, nothing changes.
# The issuer exactly as the provider's discovery document spells it (a trailing slash counts).
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_SCOPES = env.str("OIDC_SCOPES", default="openid profile email")
# The provider's name on the login page's button ("Sign in with <name>").
OIDC_NAME = env.str("OIDC_NAME", default="") or "SSO"
# Roles from a claim at each sign-in: the user's roles become exactly the mapped ones.
OIDC_ROLES_CLAIM = env.str("OIDC_ROLES_CLAIM", default="")
OIDC_ROLES_MAP = env.dict("OIDC_ROLES_MAP", default={})
# Link a provider account to an existing Pan account with the same e-mail address,
# when the provider says the address is verified (email_verified).
OIDC_LINK_BY_EMAIL = env.bool("OIDC_LINK_BY_EMAIL", default=False)
# Local passwords off, except for these break-glass accounts (usernames).
OIDC_ONLY = env.bool("OIDC_ONLY", default=False)
OIDC_BREAK_GLASS_USERS = env.list("OIDC_BREAK_GLASS_USERS", default=[])
# The ID token's signature algorithms Pan accepts (asymmetric only: never "none" or HS*).
OIDC_SIGN_ALGORITHMS = env.list("OIDC_SIGN_ALGORITHMS", default=["RS256"])
# Seconds: each call to the provider (discovery, keys, token, userinfo); the discovery
# document is kept this long before it is fetched again.
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=5.0)
OIDC_DISCOVERY_CACHE = env.int("OIDC_DISCOVERY_CACHE", default=300)
# What mozilla-django-oidc (accounts/oidc.py) reads under its own names.
OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = OIDC_CLIENT_SECRET
OIDC_RP_SCOPES = " ".join(dict.fromkeys(["openid", *OIDC_SCOPES.split()]))
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc-callback"
OIDC_REDIRECT_FIELD_NAME = "next"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "accounts.oidc.PanOIDCBackend"]

# API keys (docs/api-keys.md): how many one account may hold at once.
API_KEYS_PER_USER = env.int("API_KEYS_PER_USER", default=50)

PASSWORD_HASHERS = [
    "accounts.hashers.PanArgon2PasswordHasher",
    # Older hashes still verify and are upgraded to Argon2id on login.
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

# --- Static and media files -----------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / env.str("MEDIA_ROOT", default="media")  # an absolute path stays as it is
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Any S3-compatible object store (AWS, MinIO, Ceph, R2...) through
# django-storages. Every file goes through the storage API, so this is the
# only switch: uploads, downloads, previews and purges all follow it.
S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    from botocore.config import Config as S3ClientConfig

    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            # With a client_config django-storages ignores its addressing_style
            # option: the style goes in here. The timeouts make a storage that
            # refuses, drops or stalls fail within seconds (uploads and
            # downloads answer 503) instead of botocore's 60 s per attempt
            # and five attempts; each attempt that gets no answer costs
            # S3_CONNECT_TIMEOUT or S3_READ_TIMEOUT. S3_MAX_ATTEMPTS counts
            # the first try ("standard" retry mode: timeouts, 5xx, throttling).
            "client_config": S3ClientConfig(
                s3={"addressing_style": env.str("S3_ADDRESSING_STYLE", default="") or None},
                connect_timeout=env.float("S3_CONNECT_TIMEOUT", default=2.0),
                read_timeout=env.float("S3_READ_TIMEOUT", default=3.0),
                retries={"mode": "standard", "total_max_attempts": env.int("S3_MAX_ATTEMPTS", default=2)},
                # Downloads stream from the store (project/lib/stored_files.py): one
                # connection each while they last, so more than botocore's 10.
                max_pool_connections=env.int("S3_MAX_POOL_CONNECTIONS", default=64),
            ),
            "location": env.str("S3_PREFIX", default=""),
            "default_acl": None,
            "querystring_auth": True,
            # Names are random and unique; never overwrite, never rename.
            "file_overwrite": False,
        },
    }

# --- Security -------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind TLS (the production case) these are switched on by the environment;
# `manage.py check --deploy` with DEBUG=False and HTTPS=True reports nothing.
HTTPS = env.bool("HTTPS", default=not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Browsers ignore (and log an error for) a Cross-Origin-Opener-Policy sent
# over plain HTTP from a non-localhost address: the usual LAN set-up.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin" if HTTPS else None
# Behind a TLS-terminating proxy, `X-Forwarded-Proto: https` says the client
# used TLS. It is believed only from a peer in TRUSTED_PROXIES
# (project.middleware.ForwardedProtoMiddleware removes it from anyone else;
# the short-link fast path and the WebSocket origin check ask
# project.lib.net.connection_is_secure). With no TRUSTED_PROXIES nothing
# could be believed, every request would look like plain HTTP and the HTTPS
# redirect would loop: the start is refused instead (docs/operations.md).
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    if not TRUSTED_PROXIES:
        raise ImproperlyConfigured(
            "BEHIND_TLS_PROXY is on but TRUSTED_PROXIES is empty: X-Forwarded-Proto is believed only from "
            "a trusted proxy. Set TRUSTED_PROXIES to the proxy's address (or network)."
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Content-Security-Policy (docs/security.md) ----------------------
# Scripts and styles from this site's own files, or inline with the
# response's nonce (`nonce="{{ request.csp_nonce }}"`): no inline event
# handlers, style attributes or javascript: URLs. A page that uses no nonce
# gets the policy without one. The API docs pages widen it for themselves
# only (project/urls.py); downloads keep their own `sandbox` policy.
CSP_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF, NONCE],
    "style-src": [SELF, NONCE],
    "img-src": [SELF, "data:", "blob:"],  # QR codes, previews of files being picked
    "media-src": [SELF, "blob:"],
    "connect-src": [SELF],  # covers ws:/wss: to this host (/ws/events/)
    "object-src": [NONE],
    "base-uri": [NONE],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}
# Where browsers send violation reports (a collector of the operator's), if anywhere.
if env.str("CSP_REPORT_URI", default=""):
    CSP_DIRECTIVES["report-uri"] = [env.str("CSP_REPORT_URI")]
# CSP_REPORT_ONLY=true: browsers report violations and block nothing (to
# roll the policy out); the default enforces it. (No Django setting is named
# CSP_REPORT_ONLY: django-csp's check refuses its 3.x setting names.)
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY = None
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": CSP_DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_DIRECTIVES}
    CONTENT_SECURITY_POLICY_REPORT_ONLY = None

# --- CORS -----------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_HEADERS = (*cors_default_headers, "x-share-code", "x-share-password")
# Browser scripts on allowed origins may read the timing and rate-limit headers.
CORS_EXPOSE_HEADERS = [
    "X-Process-Time",
    "Server-Timing",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
]

# --- REST framework, JWT, OpenAPI ------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: `Bearer pan_…` is an API key and never reaches simplejwt (docs/api-keys.md).
        "accounts.authentication.ApiKeyAuthentication",
        # simplejwt's and DRF's, refusing an admin without a second factor
        # under MFA_REQUIRED_FOR_ADMINS (accounts/authentication.py).
        "accounts.authentication.PanJWTAuthentication",
        "accounts.authentication.PanSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        # DRF's JSONParser with a nesting limit: deep JSON is a 400, not a RecursionError.
        "project.lib.json_parser.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # drf-spectacular's, plus the error responses every operation shares (project/lib/openapi.py).
    "DEFAULT_SCHEMA_CLASS": "project.lib.openapi.PanAutoSchema",
    # `?page=` is a whole number from 1; garbage is a 400 in the API error shape.
    "DEFAULT_PAGINATION_CLASS": "project.lib.pagination.PagePagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "project.lib.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_SECONDS", default=15 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_SECONDS", default=24 * 3600)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUDIENCE": env.str("JWT_AUDIENCE", default="pan-api"),
    "ISSUER": env.str("JWT_ISSUER", default="pan"),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.PanAccessToken",),
    "LEEWAY": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pan API",
    "DESCRIPTION": "Self-hosted file sharing with share codes and short links.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # JSON bodies only: DRF also parses forms on these paths, but a form
    # cannot say null, a number or a list, so the schema offers JSON (the
    # upload operations declare their multipart forms themselves).
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # `locked` tells a share's two shapes apart (before and after its code).
    "ENUM_NAME_OVERRIDES": {
        "ShareLockedEnum": [(True, True)],
        "ShareUnlockedEnum": [(False, False)],
        # A delivery's `event` and an endpoint's `events`: one list, one name.
        "WebhookEventEnum": "webhooks.models.Event",
    },
    # The tus endpoints are plain async views, which drf-spectacular does not
    # see: their operations are written into the document (uploads/openapi.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "uploads.openapi.tus_operations"],
}

# --- Shared files (pan) ---------------------------------------------------
# Largest accepted upload, in bytes (over it: 413 and nothing kept).
PAN_MAX_UPLOAD_SIZE = env.int("PAN_MAX_UPLOAD_SIZE", default=2 * 1024**3)
# Lifetime of an upload without `expires_in`, in seconds (0 = never expires).
PAN_DEFAULT_EXPIRY = env.int("PAN_DEFAULT_EXPIRY", default=7 * 24 * 3600)
# Longest `expires_in` accepted, in seconds.
PAN_MAX_EXPIRY = env.int("PAN_MAX_EXPIRY", default=10 * 365 * 24 * 3600)
# How long revoked files are kept before `purge_expired` removes them, in seconds.
PAN_REVOKED_RETENTION = env.int("PAN_REVOKED_RETENTION", default=7 * 24 * 3600)
# Largest text item in UTF-8 bytes (over it: 413).
PAN_MAX_TEXT_SIZE = env.int("PAN_MAX_TEXT_SIZE", default=512 * 1024)
# Text previews (pan/previews.py): a text is highlighted, or rendered as
# Markdown, only up to this many UTF-8 bytes and with no line longer than this
# many characters (past either: shown plain, with its download link); each
# render runs once, in a worker process killed after the timeout (seconds).
# Creating a share waits up to PAN_TEXT_RENDER_WAIT seconds for its renders.
PAN_TEXT_RENDER_MAX_BYTES = env.int("PAN_TEXT_RENDER_MAX_BYTES", default=128 * 1024)
PAN_TEXT_RENDER_MAX_LINE = env.int("PAN_TEXT_RENDER_MAX_LINE", default=1000)
PAN_TEXT_RENDER_TIMEOUT = env.float("PAN_TEXT_RENDER_TIMEOUT", default=2.0)
PAN_TEXT_RENDER_WAIT = env.float("PAN_TEXT_RENDER_WAIT", default=0.5)
# A share holds at most this many items, and this many bytes in all.
# Bytes a user's shares may hold, per role (pan/quotas.py): "uploaders=10737418240,users=0";
# 0 = no limit; admins and users of unlisted roles have none. Default: no quotas.
PAN_QUOTAS = env.dict("PAN_QUOTAS", cast={"value": int}, default={})
PAN_MAX_SHARE_ITEMS = env.int("PAN_MAX_SHARE_ITEMS", default=1000)
PAN_MAX_SHARE_SIZE = env.int("PAN_MAX_SHARE_SIZE", default=10 * 1024**3)
# Django refuses more file parts than this in one request (its default, 100,
# is below what a share may hold): every item, and a text sent as a file.
DATA_UPLOAD_MAX_NUMBER_FILES = PAN_MAX_SHARE_ITEMS + 1
# Largest request body in bytes, except where the view a request routes to
# allows this request more (its `body_allowance`, project/lib/bodies.py: an
# uploader's Bearer token on the multipart API, a video admin's session, a
# tus PATCH): 413 before any of it is stored. Forms and JSON stay far below
# (the largest, a PAN_MAX_TEXT_SIZE text); Django's own
# DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) is above it, so this limit answers first.
MAX_SMALL_BODY = env.int("MAX_SMALL_BODY", default=1024**2)
# Code guessing (pan/access.py): wrong codes or passwords allowed per window
# (seconds) in four layers — one client on one share, one client (IPv4
# address, IPv6 /64) on all shares, one network (IPv4 /24, IPv6 /48) on all
# shares, and one share from everyone (the share then stops accepting codes
# until the window ends or its owner regenerates the code).
PAN_CODE_CLIENT_LIMIT = env.int("PAN_CODE_CLIENT_LIMIT", default=5)
PAN_CODE_CLIENT_WINDOW = env.int("PAN_CODE_CLIENT_WINDOW", default=15 * 60)
PAN_CODE_CLIENT_ALL_LIMIT = env.int("PAN_CODE_CLIENT_ALL_LIMIT", default=30)
PAN_CODE_CLIENT_ALL_WINDOW = env.int("PAN_CODE_CLIENT_ALL_WINDOW", default=3600)
PAN_CODE_NETWORK_LIMIT = env.int("PAN_CODE_NETWORK_LIMIT", default=100)
PAN_CODE_NETWORK_WINDOW = env.int("PAN_CODE_NETWORK_WINDOW", default=24 * 3600)
PAN_CODE_SHARE_LIMIT = env.int("PAN_CODE_SHARE_LIMIT", default=50)
PAN_CODE_SHARE_WINDOW = env.int("PAN_CODE_SHARE_WINDOW", default=60 * 60)
# Downloads (pan/grants.py): after a recipient's download counted, their
# later items, zips and resumes are free for this many seconds.
PAN_DOWNLOAD_GRANT_WINDOW = env.int("PAN_DOWNLOAD_GRANT_WINDOW", default=3600)
# A download under way holds its slot this long past the last bytes that
# flowed; a killed process's slot frees when it lapses.
PAN_DOWNLOAD_LEASE_SECONDS = env.int("PAN_DOWNLOAD_LEASE_SECONDS", default=120)
# purge_expired removes temporary upload files, unfinished S3 multipart
# uploads, stored objects without an item, and shares left "still
# uploading" that are older than this (seconds).
PAN_UPLOAD_LEFTOVER_AGE = env.int("PAN_UPLOAD_LEFTOVER_AGE", default=24 * 3600)
# The task workers remove them with the periodic purge (PAN_PURGE_INTERVAL, pan/leftovers.py).
# Resumable uploads (tus, uploads/, docs/uploads.md): an unfinished upload
# expires this long after it was created (Upload-Expires; s), and the
# periodic purge then removes its bytes, S3 multipart upload included.
PAN_UPLOAD_EXPIRY = env.int("PAN_UPLOAD_EXPIRY", default=24 * 3600)
# On S3, bytes go up in parts of this size (S3's minimum, 5 MiB, at least);
# each PATCH holds at most one part in memory.
PAN_UPLOAD_PART_SIZE = env.int("PAN_UPLOAD_PART_SIZE", default=8 * 1024 * 1024)
# One PATCH at a time writes an upload: its lease (s) in the upload's row, renewed
# while bytes flow; a process killed mid-PATCH keeps the upload busy (423) this long.
PAN_UPLOAD_LEASE_SECONDS = env.int("PAN_UPLOAD_LEASE_SECONDS", default=30)
# Drop-off requests (dropoff/, docs/dropoff.md): defaults and bounds of a
# request's expiry (s; 0 = never), files and bytes in total.
PAN_REQUEST_DEFAULT_EXPIRY = env.int("PAN_REQUEST_DEFAULT_EXPIRY", default=7 * 24 * 3600)
PAN_REQUEST_DEFAULT_FILES = env.int("PAN_REQUEST_DEFAULT_FILES", default=100)
PAN_REQUEST_MAX_FILES = env.int("PAN_REQUEST_MAX_FILES", default=10_000)
PAN_REQUEST_DEFAULT_BYTES = env.int("PAN_REQUEST_DEFAULT_BYTES", default=2 * 1024**3)
PAN_REQUEST_MAX_BYTES = env.int("PAN_REQUEST_MAX_BYTES", default=100 * 1024**3)
# Drops from one client and from one network (/24, /48) per window (s).
PAN_DROP_CLIENT_LIMIT = env.int("PAN_DROP_CLIENT_LIMIT", default=20)
PAN_DROP_NETWORK_LIMIT = env.int("PAN_DROP_NETWORK_LIMIT", default=100)
PAN_DROP_WINDOW = env.int("PAN_DROP_WINDOW", default=3600)
# Downloads of local files: let the server send the bytes straight from the file
# (sendfile, through the ASGI zero-copy extension daphne offers with Pan's fix;
# docs/performance.md, issue 26). Off: every byte goes through Python, as on S3.
DOWNLOAD_SENDFILE = env.bool("DOWNLOAD_SENDFILE", default=True)
# Large multipart uploads to the API: the view parses the body as it arrives instead of
# Django spooling all of it to a temporary file first (project/lib/bodies.py, StreamedBody).
STREAM_REQUEST_BODIES = env.bool("STREAM_REQUEST_BODIES", default=True)
# Require login and the `download` permission to download (default: the code is enough).
PAN_DOWNLOAD_REQUIRES_LOGIN = env.bool("PAN_DOWNLOAD_REQUIRES_LOGIN", default=False)
# The share page as a visitor without a session sees it, kept in the cache
# for up to this many seconds (pan/page_cache.py; 0 turns it off).
PAN_SHARE_PAGE_CACHE_SECONDS = env.int("PAN_SHARE_PAGE_CACHE_SECONDS", default=300)
# Answer a kept share page before Django's middleware (project/fast_path.py).
SHARE_PAGE_FAST_PATH = env.bool("SHARE_PAGE_FAST_PATH", default=True)
# Uploads stream to a temporary file while their SHA-256 is computed; nothing
# large is ever held in memory (pan/uploads.py).
FILE_UPLOAD_HANDLERS = ["pan.uploads.HashingUploadHandler"]
# Where those temporary files go: a directory of Pan's own (not the system
# temp dir shared with every other program), so purge_expired can remove what
# a killed process left there (pan/leftovers.py). Created here: Django does
# not create it, and every upload fails while it is missing. Keep it on the
# disk of MEDIA_ROOT: storing a local file is then a rename, not a copy.
# Empty: `<MEDIA_ROOT>/.upload-tmp`; a relative path is relative to BASE_DIR.
FILE_UPLOAD_TEMP_DIR = str(BASE_DIR / (env.str("FILE_UPLOAD_TEMP_DIR", default="") or MEDIA_ROOT / ".upload-tmp"))
try:
    os.makedirs(FILE_UPLOAD_TEMP_DIR, mode=0o700, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(f"FILE_UPLOAD_TEMP_DIR {FILE_UPLOAD_TEMP_DIR} cannot be created: {exc}") from exc


# Posts: rendered post fragments stay cached this long (changes clear them at once).
POST_CACHE_SECONDS = env.int("POST_CACHE_SECONDS", default=3600)


# --- Stopping ---------------------------------------------------------------
# What a server process writes when it stops normally (project/lib/stopping.py:
# buffered link statistics) gets at most this many seconds in all.
STOP_CALLBACKS_SECONDS = env.float("STOP_CALLBACKS_SECONDS", default=10.0)


# --- Short links (shortener) ----------------------------------------------
# The public address short links are printed with (`<base>/s/<key>`); empty:
# taken from each request (and http://127.0.0.1:8000 for `manage.py shorten`).
SHORT_LINK_BASE_URL = env.str("SHORT_LINK_BASE_URL", default="")
# Link statistics (shortener/stats.py): recorded per visit in memory and
# written every this many seconds and when the server stops (SIGTERM); a
# killed (SIGKILL) process loses at most that interval's statistics.
SHORT_LINK_STATS = env.bool("SHORT_LINK_STATS", default=True)
SHORT_LINK_STATS_FLUSH_SECONDS = env.float("SHORT_LINK_STATS_FLUSH_SECONDS", default=2.0)
# How long a key -> target lookup stays cached (changes drop it at once).
SHORT_LINK_CACHE_SECONDS = env.int("SHORT_LINK_CACHE_SECONDS", default=3600)
# How often (s) the task workers look for short links whose time passed, to send
# their owners' `link.expired` webhooks (docs/webhooks.md); 0: never.
SHORT_LINK_EXPIRY_SCAN_INTERVAL = env.float("SHORT_LINK_EXPIRY_SCAN_INTERVAL", default=60.0)
# Answer successful redirects before Django's middleware (project/fast_path.py).
SHORT_LINK_FAST_PATH = env.bool("SHORT_LINK_FAST_PATH", default=True)
# Make plain anonymous creations (POST /api/short with only a URL) before Django's middleware (project/fast_path.py).
SHORT_LINK_CREATE_FAST_PATH = env.bool("SHORT_LINK_CREATE_FAST_PATH", default=True)
# Allow targets on loopback/private/link-local addresses, localhost and
# single-label hosts (an intranet-only installation). Off: such links are 400.
SHORT_LINK_ALLOW_PRIVATE_TARGETS = env.bool("SHORT_LINK_ALLOW_PRIVATE_TARGETS", default=False)


# --- Middleware: timing, access log, rate limits; WebSocket; status -------
# Timing headers (X-Process-Time, Server-Timing) and the access log
# (logger "pan.access", one line per request). See docs/middleware.md.
TIMING_ENABLED = env.bool("TIMING_ENABLED", default=True)
ACCESS_LOG_ENABLED = env.bool("ACCESS_LOG_ENABLED", default=True)

# Rate limits: path prefix -> (requests, window in seconds); the longest
# matching prefix wins, "default" covers every other path, a limit of 0
# switches a rule off. Counted per user when signed in, else per client
# address (IPv6 by /64), in a sliding window on the default cache.
# RATE_LIMITS in the environment overrides or adds rules:
#   RATE_LIMITS="/api/login=10/60,/f/=0/60,default=300/60"
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)


def _rate_limit_rules(entries: list[str]) -> dict[str, tuple[int, int]]:
    """Parse `PREFIX=LIMIT/SECONDS` entries; a malformed one stops the start."""
    rules = {}
    for entry in entries:
        prefix, equals, value = entry.rpartition("=")
        limit, slash, window = value.partition("/")
        if not (prefix and equals and slash and limit.isdigit() and window.isdigit() and int(window) > 0):
            raise ImproperlyConfigured(f"RATE_LIMITS entry {entry!r} is not PREFIX=LIMIT/SECONDS")
        rules[prefix] = (int(limit), int(window))
    return rules


RATE_LIMITS = {
    "/api/login": (30, 60),
    "/login/": (30, 60),
    "/api/register": (30, 600),
    "/register/": (30, 600),
    "/api/short": (60, 60),
    # The /short/ page's form creates links like POST /api/short (its GETs,
    # the redirects under /short/<key>, are exempt below).
    "/short/": (60, 60),
    "/f/": (120, 60),
    "/api/files": (300, 60),
    "default": (600, 60),
    **_rate_limit_rules(env.list("RATE_LIMITS", default=[])),
}
# GET and HEAD here are never limited and get no rate-limit headers: static
# files and the short-link redirects (SPEC §5: no rate-limit headers on
# redirects). Other methods on these paths count under the rules above.
RATE_LIMIT_EXEMPT_PREFIXES = env.list("RATE_LIMIT_EXEMPT_PREFIXES", default=["/static/", "/s/", "/short/"])
# While the cache is unreachable, requests go through; one warning per interval.
RATE_LIMIT_WARNING_INTERVAL = env.int("RATE_LIMIT_WARNING_INTERVAL", default=60)

# WebSocket echo at /ws/echo/: a larger message (UTF-8 bytes for text) is
# refused with close code 1009. daphne's own limit is also 1 MiB.
WS_ECHO_MAX_MESSAGE_BYTES = env.int("WS_ECHO_MAX_MESSAGE_BYTES", default=1024 * 1024)

# /server-status: each dependency probe gives up after this many seconds.
SERVER_STATUS_PROBE_TIMEOUT = env.float("SERVER_STATUS_PROBE_TIMEOUT", default=3.0)

# A MaxMind-format (.mmdb) country or city database, e.g. GeoLite2-Country:
# download events and link statistics then name the client's country (never
# its address). Empty: no countries (project/lib/clients.py).
GEOIP_DATABASE = env.str("GEOIP_DATABASE", default="")

# Audit log (audit/): client addresses older than this many days are
# replaced by a keyed hash when purge_expired runs.
AUDIT_ADDRESS_RETENTION = env.int("AUDIT_ADDRESS_RETENTION", default=30)

# GET /metrics (Prometheus text format): only with `Authorization: Bearer
# <METRICS_TOKEN>` or from a client address in METRICS_ALLOWED_NETWORKS
# (addresses or CIDR networks); anyone else gets the 404 of an unknown path.
# Both empty (the default): nobody. See docs/operations.md.
# Set, it is held to the rules of the other secrets (checked at the top).
METRICS_TOKEN = _given_secrets["METRICS_TOKEN"]
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])


# --- Logging --------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # One line per request from project.middleware.TimingMiddleware.
        "pan.access": {"level": env.str("ACCESS_LOG_LEVEL", default="INFO")},
    },
}

# Background tasks (jobs/, docs/operations.md "Background tasks"): the Django
# Tasks API with django-tasks-db, whose queue is a table in Pan's database.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# How often an idle worker looks for a task (s).
PAN_TASK_POLL_INTERVAL = env.float("PAN_TASK_POLL_INTERVAL", default=1.0)
# A worker not seen for this long (s) is taken for dead: its running task goes back to the queue.
PAN_TASK_WORKER_LEASE = env.float("PAN_TASK_WORKER_LEASE", default=30.0)
# A failed task's first retry waits this long (s); each further one twice as long, at most an hour.
PAN_TASK_RETRY_BACKOFF = env.float("PAN_TASK_RETRY_BACKOFF", default=30.0)
# Finished tasks stay in admin (and the queue table) this many days.
PAN_TASK_RESULTS_KEEP = env.int("PAN_TASK_RESULTS_KEEP", default=7)
# The periodic purge (expired shares, upload leftovers, expired resumable uploads,
# old audit addresses, old task results) runs every this many seconds (0: never).
PAN_PURGE_INTERVAL = env.float("PAN_PURGE_INTERVAL", default=300.0)

# Webhooks (webhooks/, docs/webhooks.md).
# Comma-separated CIDRs webhooks may be sent to although they are not public
# (an intranet receiver: "10.1.2.0/24"); empty: public addresses only.
WEBHOOK_ALLOWED_NETWORKS = env.str("WEBHOOK_ALLOWED_NETWORKS", default="")
# Endpoints one account may register.
WEBHOOKS_PER_USER = env.int("WEBHOOKS_PER_USER", default=20)
# Seconds each socket operation of a delivery (and each DNS lookup) may take.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=5.0)
# Seconds before each retry of a failed delivery (the last repeats; 7 tries in all).
WEBHOOK_RETRY_SCHEDULE = env.str("WEBHOOK_RETRY_SCHEDULE", default="30,120,600,1800,3600,10800")
# DNS servers deliveries resolve with ("10.0.0.53", "127.0.0.1:5353", "[::1]:53", comma-separated);
# empty: the system resolver (getaddrinfo: /etc/hosts, then /etc/resolv.conf).
WEBHOOK_DNS_SERVERS = env.str("WEBHOOK_DNS_SERVERS", default="")
# Finished deliveries are kept this many days (the periodic purge forgets older ones).
WEBHOOK_DELIVERIES_KEEP = env.int("WEBHOOK_DELIVERIES_KEEP", default=30)
try:
    [ipaddress.ip_network(_net.strip(), strict=False) for _net in WEBHOOK_ALLOWED_NETWORKS.split(",") if _net.strip()]
except ValueError as _exc:
    raise ImproperlyConfigured(f"WEBHOOK_ALLOWED_NETWORKS: {_exc}") from None

# E-mail receipts go out through SMTP (a background task, retried).
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
# A mail server that does not answer within this (s) fails the try; it is retried later.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
