"""The device cookie on the wire (the rules are `services.user_login`'s).

Set on every successful login, page or API: HttpOnly (no script needs it),
SameSite=Lax, Secure over HTTPS, for `LOGIN_DEVICE_COOKIE_AGE` seconds. It
survives signing out: it says this browser signed in before, not that it
is signed in now.
"""

from django.conf import settings

DEVICE_COOKIE = "pan_device"


def device_cookie_read(request) -> str:
    return request.COOKIES.get(DEVICE_COOKIE, "")


def device_cookie_set(response, request, device: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        max_age=settings.LOGIN_DEVICE_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.HTTPS or request.is_secure(),
    )
