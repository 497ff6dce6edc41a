"""course_lib: the helper library of "Siamese Networks, a hands-on course".

Importing it quiets two sources of noise in notebook outputs: TensorFlow's C++ log (unless
``TF_CPP_MIN_LOG_LEVEL`` is already set; level 3 also hides a spurious tf.data "NodeDef mentions
attribute use_unbounded_threadpool" error that TF 2.21 prints whenever op determinism rewrites a
pipeline; real failures still raise Python exceptions) and Keras's warning that ``shuffle`` is
ignored for a ``tf.data`` input (our pair pipelines draw fresh random pairs every batch).
Set ``TF_CPP_MIN_LOG_LEVEL=0`` before importing to see everything.
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed, but will be ignored")
