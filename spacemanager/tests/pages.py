"""Reading pages in view tests as a person would: the text, and the error shown next to a field."""

import html
import re


def text(response) -> str:
    """The page as a person reads it (entities decoded)."""
    return html.unescape(response.content.decode())


def field_error(response, name: str) -> str:
    """The error shown under the field `name` (the element its aria-describedby names), whitespace folded."""
    match = re.search(rf'id="id_{name}_error">(.*?)</div>', text(response), re.S)
    return " ".join(match.group(1).split()) if match else ""
