"""Backends that live only in the tests: each module here is a whole backend, registered with
``load_registry("tests.extra_backends")`` to show that adding one needs no edit anywhere else."""
