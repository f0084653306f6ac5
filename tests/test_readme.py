"""Every command and code example in the README runs, or names a real command and flag.

The two set-up commands are run by CI itself (.ci/run reads them from the README); docker lines
are checked against the Dockerfile by test_dockerfile.py. Here: the Python examples execute,
and every other shell line names a module, subcommand and flags that exist.
"""
import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers import REPO

ROOT = REPO
README = (ROOT / "README.md").read_text()


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def shell_lines():
    for block in blocks("bash"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line:
                yield line


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_examples_run(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks("python")[index], f"README python block {index}", "exec"), {})


def _words(line):
    words = shlex.split(line)
    while words and "=" in words[0]:  # leading VAR=value settings
        words.pop(0)
    if words[:2] == ["mpiexec", "-n"]:  # a multi-process launch: check the command it starts
        words = words[3:]
    return words


@pytest.mark.parametrize("line", sorted(set(shell_lines())))
def test_shell_lines_name_real_commands(line):
    if line.startswith(("docker ", "pip install")) or "&&" in line:
        return  # Dockerfile test and CI cover these
    words = _words(line)
    if words[:2] == ["python", "-m"]:
        module = words[2]
        if module == "pytest":
            return
        assert importlib.util.find_spec(module) is not None, module
        args = [a for a in words[3:] if a.startswith("--")]
        if args:
            help_text = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                                       text=True, cwd=ROOT).stdout
            for flag in args:
                assert flag in help_text, f"{module} has no {flag}"
        return
    if words[0] == "python":
        assert (ROOT / words[1]).exists(), words[1]
        return
    assert words[0] == "gpugrad", line
    sub = words[1]
    help_text = subprocess.run([sys.executable, "-m", "gpugrad", sub, "--help"], capture_output=True,
                               text=True, cwd=ROOT).stdout
    for flag in (w for w in words[2:] if w.startswith("--")):
        assert flag in help_text, f"gpugrad {sub} has no {flag}"
