"""The Content-Security-Policy outside django-csp's middleware, and a view's own.

django-csp (`project.lib.native.CSPMiddleware`) writes the policy of
`CONTENT_SECURITY_POLICY` (enforced) or `CONTENT_SECURITY_POLICY_REPORT_ONLY`
(`CSP_REPORT_ONLY=true`) on every response that passes through Django. Two
things it does not cover live here:

- `csp_headers()`: the same header for answers made before Django, by the
  fast path (project/fast_path.py: short-link redirects, kept share pages),
  so they carry exactly what Django's answer would
  (shortener/tests/test_fast_path.py, project/tests/test_fast_path_page.py);
- `csp_replaced(directives)` (a view decorator) and `csp_replace_on(response,
  directives)`: a page that needs more than the site's policy (ReDoc; the
  short-link password form, whose answer redirects to another site)
  replaces those directives for itself only, in whichever mode is on.

docs/security.md describes the policy.
"""

from collections.abc import Callable
from functools import cache, wraps

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.core.signals import setting_changed
from django.dispatch import receiver


@cache
def csp_headers() -> list[tuple[bytes, bytes]]:
    """The policy header(s) django-csp adds to a response whose page used no
    nonce, as ASGI headers (none when both policies are off). Built once
    (building it was a tenth of a kept page's time); again when a test
    changes the settings. Callers must not change the list."""
    headers = []
    for name, report_only in ((HEADER, False), (HEADER_REPORT_ONLY, True)):
        policy = build_policy(report_only=report_only)
        if policy:
            headers.append((name.lower().encode(), policy.encode()))
    return headers


@receiver(setting_changed)
def _policy_changed(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        csp_headers.cache_clear()


def csp_replace_on(response, directives: dict[str, list[str]]):
    """`response` carries the site's policy with these directives replaced,
    enforced or report-only as the site's is; returns it."""
    response._csp_replace = directives
    response._csp_replace_ro = directives
    return response


def csp_replaced(directives: dict[str, list[str]]) -> Callable:
    """Decorate a (sync) view: `csp_replace_on` each of its responses."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            return csp_replace_on(view(*args, **kwargs), directives)

        return wrapped

    return decorate
