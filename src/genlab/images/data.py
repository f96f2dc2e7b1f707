"""Image data for genlab's image models: scikit-learn's bundled digits and folders of PNG / JPEG files.

The readers live in the data layer, :mod:`genlab.data.images`; they are re-exported here, where the image models
have always imported them from.
"""

from genlab.data.images import DIGITS_LEVELS, IMAGE_EXTENSIONS, load_digits_images, load_image_folder, requantize

__all__ = ["DIGITS_LEVELS", "IMAGE_EXTENSIONS", "load_digits_images", "load_image_folder", "requantize"]
