"""Code execution sandbox."""
