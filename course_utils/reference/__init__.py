"""Instructor-side reference solutions; imports Keras (never imported by `course_utils`)."""
