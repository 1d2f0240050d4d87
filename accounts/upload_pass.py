"""The upload pass: a signed cookie that lets a signed-in browser session's
uploads past the small body limit.

`project.lib.bodies` decides how large a request body may be before any of
it is stored, without the database: under daphne it runs in Twisted's
reactor thread for every request with a body. A Bearer token can be
verified there; a session cannot, because Django keeps sessions in the
database. Anyone can send a cookie of the right shape, so that check alone
let a made-up session spool up to the upload limit per request.

So a signed-in session also carries `pan_upload`: a digest of its session
key, timestamped and signed with SECRET_KEY (Django's `TimestampSigner`,
salted). It proves, with one HMAC and no lookup, that this server issued it
to this session key while a user was signed in. A pass does not outlive its
session: a new session key (sign-in, sign-out) no longer matches it, and it
expires with `SESSION_COOKIE_AGE`. Django still checks the session itself
once the body is in; the pass only decides how much is read first.

`UploadPassMiddleware` issues it on any response to a signed-in session
that lacks a valid one (the sign-in response itself, or the first page
after an upgrade for sessions that predate the pass) and removes it once
the session is gone.
"""

import hashlib

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.core import signing

from project.lib.hybrid import HybridMiddleware

COOKIE_NAME = "pan_upload"
_SALT = "pan.accounts.upload-pass"


def _digest(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


def upload_pass_for(session_key: str) -> str:
    """The pass value for a session key."""
    return _signer().sign(_digest(session_key))


def upload_pass_matches(value: str, session_key: str) -> bool:
    """True when `value` is a pass this server issued for `session_key` and it has not expired."""
    if not value or not session_key:
        return False
    try:
        digest = _signer().unsign(value, max_age=settings.SESSION_COOKIE_AGE)
    except signing.BadSignature:  # SignatureExpired included
        return False
    return digest == _digest(session_key)


class UploadPassMiddleware(HybridMiddleware):
    """Issue the upload pass to signed-in sessions; drop it when the session ends.

    After SessionMiddleware and AuthenticationMiddleware. It never loads a
    session on its own: it looks at one only when the view already did.
    """

    def after(self, request, response):
        _update(request, response)


def _update(request, response) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    current = request.COOKIES.get(COOKIE_NAME, "")
    session_key = session.session_key
    if session_key is None:  # no session, or one just flushed by a sign-out
        if current:
            response.delete_cookie(COOKIE_NAME, samesite=settings.SESSION_COOKIE_SAMESITE)
        return
    if upload_pass_matches(current, session_key):
        return
    # Only a session this request has loaded anyway (Django keeps what it
    # loaded in `_session_cache`): no query here, which in an async stack
    # would not even be allowed, and none against a database that is down.
    loaded = getattr(session, "_session_cache", None)
    if not isinstance(loaded, dict) or loaded.get(AUTH_USER_KEY) is None:
        return
    response.set_cookie(
        COOKIE_NAME,
        upload_pass_for(session_key),
        max_age=None if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE else settings.SESSION_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )
