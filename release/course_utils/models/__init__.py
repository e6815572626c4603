"""Models given to students (import Keras on use): the digit classifier that reads generated images."""
