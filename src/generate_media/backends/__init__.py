"""One module per provider; each declares SPEC and BACKEND. Modules starting with _ are helpers."""
