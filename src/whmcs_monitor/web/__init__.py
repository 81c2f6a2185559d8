"""The HTTP side: the FastAPI app, its routes, and one error shape for all of them."""
