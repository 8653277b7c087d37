from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    """`?format=csv` or `Accept: text/csv`: the view hands over text it already wrote as CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return (data or "").encode(self.charset)
