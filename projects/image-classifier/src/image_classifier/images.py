"""Opening one image safely: the single place that decides what counts as a usable picture.

Used by the data scan (files), the app (uploaded bytes) and `predict`, so a file is refused for the
same reason everywhere. Pillow's own decompression-bomb guard is the limit: `Image.MAX_IMAGE_PIXELS`
(89,478,485 pixels by default, about 0.09 gigapixels). Pillow only *warns* between one and two times
that limit; here the warning is an error, so anything above the limit is refused before it is decoded.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError

# Known placeholders: files that decode fine but are not photographs of anything. Matched by the
# sha256 of their bytes, so the rule does not depend on a file name. The one below is the "We're sorry,
# this image could not be found" GIF (300x300) that sits in the tutorial's train/ants folder.
PLACEHOLDERS: dict[str, str] = {
    "6b4966252973c581b521f804453c6a0649ea6a2ce7e3e5c7deeb7d80623de231": (
        "a known 'image not found' placeholder (its sha256 matches the 300x300 'We're sorry, this image "
        "could not be found' GIF), not a photograph"
    ),
}


class ImageProblemError(ValueError):
    """Why a file or upload is not a usable image, in words a user can act on."""


def pixel_limit() -> int | None:
    return Image.MAX_IMAGE_PIXELS


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_image(data: bytes, name: str) -> Image.Image:
    """Decode `data` fully into an RGB image, or raise ImageProblemError saying what is wrong with `name`."""
    if not data:
        raise ImageProblemError(f"{name} is empty (0 bytes).")
    if (reason := PLACEHOLDERS.get(sha256_bytes(data))) is not None:
        raise ImageProblemError(f"{name} is {reason}.")
    limit = pixel_limit()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()  # decode everything now: a truncated file fails here, not later in a batch
            return image.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageProblemError(
            f"{name} is too large to decode safely ({_pixels(error)}); Pillow's limit is "
            f"{limit:,} pixels (PIL.Image.MAX_IMAGE_PIXELS). Resize it first."
        ) from error
    except UnidentifiedImageError as error:
        raise ImageProblemError(
            f"{name} is not an image Pillow can read (JPEG, PNG, GIF, BMP, WebP, TIFF, ...)."
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageProblemError(f"{name} is corrupt or truncated ({error}).") from error


def open_file(path: Path) -> Image.Image:
    return open_image(path.read_bytes(), path.name)


def _pixels(error: Exception) -> str:
    """The pixel count from Pillow's message ("Image size (N pixels) exceeds limit of ...")."""
    found = re.search(r"\((\d+) pixels\)", str(error))
    return f"{int(found.group(1)):,} pixels" if found else "too many pixels"


# A truncated JPEG must be an error, never a silently grey-padded picture.
ImageFile.LOAD_TRUNCATED_IMAGES = False
