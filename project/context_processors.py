from django.conf import settings


def site(request):
    return {
        "SITE_NAME": settings.SITE_NAME,
        # OIDC_ONLY with single sign-on set up: no registration link (docs/sign-in.md).
        "LOCAL_REGISTRATION": not (settings.OIDC_ONLY and settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID),
    }
