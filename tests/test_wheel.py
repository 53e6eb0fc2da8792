"""
mcc as a user gets it: a wheel built from the checkout, installed into a
fresh virtualenv outside it, and C{twistd mcc} from there serving the admin
site, the widget and every file they load.

The build and the install are real pip runs (dependencies from the package
index or pip's cache, pinned to the versions this test run uses); the child
runs with no PYTHONPATH and its working directory outside the checkout, so
only the installed wheel can answer.
"""

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from tests.conftest import asyncio_test
from tests.twistd_process import Twistd

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
BUILD_TIMEOUT = 300
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "mcc-data", "dropin.cache"
)
pytestmark = pytest.mark.timeout(2 * BUILD_TIMEOUT)


def pip(python, *arguments, cwd):
    """
    Run pip of C{python}; its output, or a failed test showing it.
    """
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *arguments],
        cwd=cwd, env=without_pythonpath(), capture_output=True, text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def without_pythonpath():
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def pinned_versions(path):
    """
    A constraints file holding every distribution of this test run but mcc
    at its version here, so that the new virtualenv gets what was tested.
    """
    pins = sorted(
        {
            f"{dist.metadata['Name']}=={dist.version}"
            for dist in metadata.distributions()
            if dist.metadata["Name"] and dist.metadata["Name"].lower() != "mcc"
        }
    )
    path.write_text("\n".join(pins) + "\n")
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """
    A copy of the checkout, so that builds leave nothing in the checkout.
    """
    copy = tmp_path_factory.mktemp("source") / "mcc"
    shutil.copytree(ROOT, copy, ignore=NOT_SOURCES)
    return copy


def build_wheel(source, into):
    """
    The wheel pip builds from C{source}, a tree or an sdist.
    """
    pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", str(into), str(source),
        cwd=into.parent)
    [built] = into.glob("mcc-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory):
    return build_wheel(source, tmp_path_factory.mktemp("wheel") / "dist")


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """
    The bin directory of a fresh virtualenv where only the wheel has mcc.
    """
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                   timeout=BUILD_TIMEOUT, env=without_pythonpath())
    constraints = pinned_versions(venv / "constraints.txt")
    pip(venv / "bin" / "python", "install", "--quiet", "--constraint", str(constraints),
        str(wheel), cwd=venv)
    return venv / "bin"


def test_the_wheel_carries_the_templates_and_no_tests(wheel):
    names = wheel_files(wheel)
    shipped = {name.removeprefix("mcc/templates/") for name in names
               if name.startswith("mcc/templates/")}
    expected = {path.relative_to(TEMPLATES).as_posix()
                for path in TEMPLATES.rglob("*") if path.is_file()}
    assert shipped == expected
    assert {name.split("/")[0] for name in names} == {"mcc", "twisted"}
    assert {name for name in names if name.startswith("twisted/")} == {
        "twisted/plugins/mcc_plugin.py"
    }


def test_the_sdist_carries_what_builds_the_same_wheel(source, wheel, tmp_path):
    pytest.importorskip("setuptools.build_meta")
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))",
         str(tmp_path)],
        cwd=source, env=without_pythonpath(), capture_output=True, text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sdist = tmp_path / done.stdout.split()[-1]
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    tops = {name.split("/")[0] for name in names}
    assert tops == {
        "MANIFEST.in", "PKG-INFO", "README.md", "mcc", "mcc.egg-info", "pyproject.toml",
        "setup.cfg", "setup.py", "templates", "twisted",
    }
    from_sdist = build_wheel(sdist, tmp_path / "dist")
    assert wheel_files(from_sdist) == wheel_files(wheel)


def wheel_files(wheel):
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if ".dist-info/" not in name}


def fetch(url):
    """
    GET C{url}: the status and the body (never asking for gzip).
    """

    def get():
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()

    return asyncio.to_thread(get)


@asyncio_test
async def test_twistd_from_the_installed_wheel_serves_every_page_and_file(
    installed, tmp_path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    twistd = Twistd(tmp_path / "data", bin=installed, env=without_pythonpath(), cwd=elsewhere)
    await twistd.start()
    try:
        status, page = await fetch(f"{twistd.http_url}/admin/sign-in")
        assert status == 200
        page = page.decode("utf-8")
        assert "<h1>Sign in to the admin site</h1>" in page
        linked = re.findall(r'(?:href|src)="(/admin/[^"]+\.(?:css|js))"', page)
        assert sorted(linked) == ["/admin/admin.css", "/admin/admin.js"]
        served = {
            "/admin/admin.css": TEMPLATES / "admin" / "static" / "admin.css",
            "/admin/admin.js": TEMPLATES / "admin" / "static" / "admin.js",
            "/widget/loader.js": TEMPLATES / "widget" / "static" / "loader.js",
            "/widget/widget.js": TEMPLATES / "widget" / "static" / "widget.js",
            "/chat-test": TEMPLATES / "visitor" / "test-page.html",
        }
        for path, original in served.items():
            status, body = await fetch(twistd.http_url + path)
            assert (path, status) == (path, 200)
            assert body == original.read_bytes(), path
    finally:
        await twistd.stop()
    assert str(ROOT) not in twistd.log
    assert f"{installed.parent}/lib/" in mcc_location(installed)


def mcc_location(bin):
    """
    Where the virtualenv's Python imports mcc from.
    """
    done = subprocess.run(
        [str(bin / "python"), "-c", "import mcc; print(mcc.__file__)"],
        cwd=bin, env=without_pythonpath(), capture_output=True, text=True, timeout=60,
    )
    return done.stdout
