"""What a browser session has unlocked on share pages.

A page unlocks a share in two steps when it has a password: the code, then
the password. The session keeps, per share, a keyed hash of the share's
current code (and password hash), never the code or password themselves,
so a new code or a new password locks every session out again at once.
"""

import hashlib
import hmac

from django.conf import settings

SESSION_KEY = "pan_unlocked"
KEEP = 50  # shares remembered per session
CODE, FULL = "code", "full"


def _token(share, step: str) -> str:
    secret = share.password if step == FULL else ""
    message = f"{step}:{share.unique_name}:{share.code}:{secret}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def _tokens(session) -> dict:
    tokens = session.get(SESSION_KEY)
    return dict(tokens) if isinstance(tokens, dict) else {}


def _has(session, share, step: str) -> bool:
    token = _tokens(session).get(f"{step}:{share.unique_name}")
    return isinstance(token, str) and hmac.compare_digest(token, _token(share, step))


def session_unlocked(session, share) -> bool:
    """Code and (when set) password passed in this session, for the share as it is now."""
    return _has(session, share, FULL)


def session_code_passed(session, share) -> bool:
    """The code passed in this session (the password may still be missing)."""
    return _has(session, share, CODE) or session_unlocked(session, share)


def session_unlock(session, share, *, step: str = FULL) -> None:
    tokens = _tokens(session)
    tokens[f"{step}:{share.unique_name}"] = _token(share, step)
    session[SESSION_KEY] = dict(list(tokens.items())[-2 * KEEP :])
