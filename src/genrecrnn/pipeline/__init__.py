"""The stages, one function each, and how DVC and papermill run them."""
