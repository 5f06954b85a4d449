"""Build hook for the optional compiled DRAM controller loop (npusim/dram/_kernel.c).

Everything else is declared in pyproject.toml. ``optional=True``: without a C compiler the
install still succeeds and npusim runs the same decisions in Python, only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "npusim.dram._kernel",
            sources=["npusim/dram/_kernel.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
