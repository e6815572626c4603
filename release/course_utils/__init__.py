"""Shared code of the course "Generative models and sequence modelling".

Importing this package is fast and never imports TensorFlow: the data loaders and
plots are plain NumPy/Matplotlib, and the model builders import Keras inside.
"""

__version__ = "0.1.0"
