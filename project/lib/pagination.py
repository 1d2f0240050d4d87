"""The page-number pagination of every API list: `?page=` is a whole number
from 1, given once; anything else is a 400, a page past the last a 404, both
in the API error shape and the caller's language (DRF's own took `?page=`
empty as page 1 and answered other garbage with an untranslated "Invalid page.")."""

import re

from django.core.paginator import InvalidPage
from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import PageNumberPagination

from .errors import NotFound, ValidationFailed

_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


class InvalidPageNumber(ValidationFailed):
    code = "invalid_page"
    default_message = _("The page must be a whole number from 1 up.")

    def __init__(self, message=None, **kwargs):
        message = message if message is not None else self.default_message
        super().__init__(message, fields={"page": [message]}, **kwargs)


class PageNotFound(NotFound):
    code = "page_not_found"
    default_message = _("There is no such page: the list is shorter.")


class PagePagination(PageNumberPagination):
    last_page_strings = ()

    def get_page_number(self, request, paginator):
        given = request.query_params.getlist(self.page_query_param)
        if not given:
            return 1
        if len(given) > 1 or not _WHOLE_NUMBER.fullmatch(given[0]) or int(given[0]) < 1:
            raise InvalidPageNumber()
        return int(given[0])

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise PageNotFound() from exc
        return list(self.page)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": f"A page number ({self.page_size} results a page); past the last page: 404.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1},
            }
        ]
