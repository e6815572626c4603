"""Instructor and TA tools behind the `course` command; never part of a student bundle."""
