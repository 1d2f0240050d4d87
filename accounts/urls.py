from django.urls import path

from . import api, views

api_urlpatterns = [
    path("register", api.RegisterApi.as_view(), name="api-register"),
    path("login", api.LoginApi.as_view(), name="api-login"),
    path("token/refresh", api.TokenRefreshApi.as_view(), name="api-token-refresh"),
    path("logout", api.LogoutApi.as_view(), name="api-logout"),
    path("me", api.MeApi.as_view(), name="api-me"),
    path("keys", api.ApiKeyListApi.as_view(), name="api-keys"),
    path("keys/<int:key_id>", api.ApiKeyDetailApi.as_view(), name="api-key"),
]

page_urlpatterns = [
    path("login/", views.login_page, name="login"),
    path("register/", views.register_page, name="register"),
    path("logout/", views.logout_page, name="logout"),
    path("welcome/", views.welcome_page, name="welcome"),
    path("account/", views.account_page, name="account"),
    path("account/keys/", views.keys_page, name="account-keys"),
]
