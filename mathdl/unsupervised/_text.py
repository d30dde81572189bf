"""A string shown verbatim in ``checks.fail`` messages (``fail`` quotes plain ``str`` values)."""


class Text:
    """Wrap a description such as ``"shape (3, 2)"`` so that ``checks.fail`` prints it unquoted."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__
