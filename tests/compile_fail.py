#!/usr/bin/env python3
"""A custom op whose function would dangle must fail to compile, with
graphnn's static_assert message: compiles SOURCE against the headers and
checks that the compiler refuses it and says EXPECTED.

usage: compile_fail.py SOURCE_DIR CXX SOURCE EXPECTED
"""
import pathlib
import subprocess
import sys

source_dir, cxx, src, expected = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
includes = [f"-I{source_dir / d}" for d in ("graph", "ops", "lib")]
run = subprocess.run([cxx, "-std=c++17", "-fsyntax-only", *includes, src], capture_output=True, text=True)
if run.returncode == 0:
    sys.exit(f"{src} compiled; it must not")
if expected not in run.stderr:
    sys.exit(f"{src} failed to compile without saying '{expected}':\n{run.stderr[-3000:]}")
print(f"{src}: refused with graphnn's message")
