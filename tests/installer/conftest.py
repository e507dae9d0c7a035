"""Fixtures for the Debian package tests: two builds (a release and a newer one) and a fresh root.

Building needs root (debootstrap, chroot, mount), debhelper and debootstrap: scripts/setup.sh
installs them, and scripts/test.sh runs as root. Nothing here skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from debroot import Build, DebianRoot, build, root_tarball


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The packages at the version of installer/debian/changelog."""
    return build(tmp_path_factory.mktemp("deb-release"))


@pytest.fixture(scope="session")
def upgrade(release: Build, tmp_path_factory: pytest.TempPathFactory) -> Build:
    """A newer build of the same tree (its own changelog entry and version): the upgrade target.

    Stored uncompressed (dpkg-deb -Znone): the same package for dpkg, without the ~40 s of gzip on
    ~900 MB that the release build already proved."""
    return build(
        tmp_path_factory.mktemp("deb-upgrade"), version=f"{release.version}+upgrade1", uncompressed=True
    )


@pytest.fixture(scope="session")
def tarball(release: Build) -> Path:
    return root_tarball(release.main, release.session)


@pytest.fixture
def debian_root(tarball: Path, tmp_path: Path) -> Iterator[DebianRoot]:
    root = DebianRoot(tmp_path / "root", tarball)
    try:
        yield root
    finally:
        root.close()
