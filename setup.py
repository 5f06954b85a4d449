"""Build hooks: the optional compiled DRAM controller loop, and the bundled YAML in wheels.

Everything else is declared in pyproject.toml.

* ``npusim/dram/_kernel.c`` is built with ``optional=True``: without a C compiler the install
  still succeeds and npusim makes the same decisions in Python, only slower.
* ``hw_configs/``, ``workloads/`` and ``sweeps/`` live at the top of the checkout (where users
  read and edit them); a wheel carries copies in ``npusim/_bundled/`` so that ``pip install .``
  finds the bundled scenarios, workloads and sweeps by name too (``npusim.config.bundled``).
"""

import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

BUNDLED_FOLDERS = ("hw_configs", "workloads", "sweeps")


class BuildPyWithBundledFiles(build_py):
    """``build_py`` that also copies the bundled YAML folders into the built package."""

    def run(self) -> None:
        super().run()
        for folder in BUNDLED_FOLDERS:
            target = Path(self.build_lib) / "npusim" / "_bundled" / folder
            target.mkdir(parents=True, exist_ok=True)
            for source in sorted(Path(folder).glob("*.yaml")):
                shutil.copy2(source, target / source.name)


setup(
    cmdclass={"build_py": BuildPyWithBundledFiles},
    ext_modules=[
        Extension(
            "npusim.dram._kernel",
            sources=["npusim/dram/_kernel.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ],
)
