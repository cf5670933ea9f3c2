"""The project's own exception types.

Every error paddle_conv raises on bad user input derives from :class:`PaddleConvError`,
so a caller can catch "anything the user got wrong" in one place.
"""


class PaddleConvError(Exception):
    """Base class of every error paddle_conv raises on bad input."""


class UnknownNameError(PaddleConvError, KeyError):
    """A name (model, loss, optimizer, data set, ...) that no registry knows."""

    def __str__(self):  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


class ConfigError(PaddleConvError, ValueError):
    """A configuration file or ``-o`` override that cannot be used as written."""


class WeightsError(PaddleConvError, ValueError):
    """A checkpoint that does not fit the model it is loaded into."""


class DataError(PaddleConvError, ValueError):
    """A data set root, list file, image or label that cannot be used."""
