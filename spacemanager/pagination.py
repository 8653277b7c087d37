from rest_framework.pagination import PageNumberPagination

from spacemanager.errors import ValidationFailed


class DefaultPagination(PageNumberPagination):
    """`page` (from 1) and `page_size` (1 to 100, default 20). A `page_size` that is not a number in that
    range is refused (400) rather than silently replaced; a page past the last one is 404 "Invalid page"."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        try:
            size = int(value)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationFailed(
                f"Give a whole number from 1 to {self.max_page_size}.", field=self.page_size_query_param
            )
        return size

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = "Which page, from 1 (the default); past the last page: 404."
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = (
                    f"Results per page, from 1 to {self.max_page_size} (default {self.page_size})."
                )
        return parameters
