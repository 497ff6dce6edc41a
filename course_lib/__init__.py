"""course_lib: the helper library of "Siamese Networks, a hands-on course".

Importing it quiets two sources of noise in notebook outputs: TensorFlow's C++ start-up log
(unless ``TF_CPP_MIN_LOG_LEVEL`` is already set) and Keras's warning that ``shuffle`` is
ignored for a ``tf.data`` input (our pair pipelines draw fresh random pairs every batch).
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed, but will be ignored")
