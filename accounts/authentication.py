"""DRF's authentication classes, refusing a user who must set up a second factor.

Under `MFA_REQUIRED_FOR_ADMINS`, a holder of `admin` without a second factor
gets 403 `mfa_setup_required` from every API operation, with a session or a
JWT alike, until one is set up on `/account/security/` (docs/second-factor.md).
"""

from rest_framework.authentication import SessionAuthentication
from rest_framework_simplejwt.authentication import JWTAuthentication


def _checked(result):
    # Imported here: DRF reads this class while project.lib.errors (which
    # factors needs) may itself be importing DRF's settings.
    from .factors import SecondFactorSetupRequired, user_must_set_up_factor

    if result is not None and user_must_set_up_factor(user=result[0]):
        raise SecondFactorSetupRequired()
    return result


class PanJWTAuthentication(JWTAuthentication):
    def authenticate(self, request):
        return _checked(super().authenticate(request))


class PanSessionAuthentication(SessionAuthentication):
    def authenticate(self, request):
        return _checked(super().authenticate(request))
