"""setuptools hook: the wheel carries compiled gettext catalogues (``kiosk/locale/*/LC_MESSAGES/*.mo``).

The ``.mo`` files are build products (not in git); ``scripts/compile-catalogues.sh`` makes them in a
checkout, and this hook compiles every ``.po`` into the build directory, so a wheel built from a fresh
clone (``installer/install.sh``) speaks every language too. Babel is a build requirement only
(``[build-system] requires``); the running kiosk reads the ``.mo`` files with the standard library.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogues(build_py):
    """``build_py`` plus ``.po`` → ``.mo`` for every catalogue."""

    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted(Path("kiosk/locale").glob("*/LC_MESSAGES/*.po")):
            target = Path(self.build_lib) / po.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalog = read_po(source, abort_invalid=True)
            with target.open("wb") as out:
                write_mo(out, catalog)


setup(cmdclass={"build_py": BuildPyWithCatalogues})
