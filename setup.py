"""Build hooks: the optional compiled DRAM controller loop, and the bundled YAML in wheels.

Everything else is declared in pyproject.toml.

* ``npusim/dram/_kernel.c`` (the controller loop) and ``_trace_reader.c`` (the trace text
  reader, declared in ``_trace_reader.h``) form one extension module, built with
  ``optional=True``: without a C compiler the install still succeeds and npusim makes the same
  decisions and reads the same traces in Python, only slower. The loop's layout header
  ``_kernel_layout.h`` (enums and limits shared with Python) is generated first, into the
  build folder, from ``npusim/dram/layout.py``: one declaration, never a copied table.
* ``hw_configs/``, ``workloads/`` and ``sweeps/`` live at the top of the checkout (where users
  read and edit them); a wheel carries copies in ``npusim/_bundled/`` so that ``pip install .``
  finds the bundled scenarios, workloads and sweeps by name too (``npusim.config.bundled``).
"""

import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
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


class BuildExtWithLayout(build_ext):
    """``build_ext`` that writes the kernel's ``_kernel_layout.h`` before compiling."""

    def build_extensions(self) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))  # this checkout's npusim
        from npusim.dram.layout import c_header

        folder = Path(self.build_temp) / "generated"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "_kernel_layout.h").write_text(c_header())
        msvc = self.compiler.compiler_type == "msvc"  # it takes /O2 and ignores -O3 noisily
        for extension in self.extensions:
            extension.include_dirs.append(str(folder))
            extension.extra_compile_args = ["/O2"] if msvc else ["-O3"]
        super().build_extensions()


setup(
    cmdclass={"build_py": BuildPyWithBundledFiles, "build_ext": BuildExtWithLayout},
    ext_modules=[
        Extension(
            "npusim.dram._kernel",
            sources=["npusim/dram/_kernel.c", "npusim/dram/_trace_reader.c"],
            # the shared header, and the generated header's sources: a change rebuilds the kernel
            depends=[
                "npusim/dram/_trace_reader.h",
                "npusim/dram/layout.py",
                "npusim/dram/device.py",
                "npusim/dram/params.py",
            ],
            optional=True,
        )
    ],
)
