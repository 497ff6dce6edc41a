"""course_lib."""
