#!/usr/bin/env python3
"""The README's tour is "one program, in order; it compiles and runs as shown":
this test builds that program from the README's code blocks (the tour and "What
the compiler does"; not the op file of "Adding an op"), links it against the
built library, runs it, and checks the output it says the program prints.

usage: readme_tour.py SOURCE_DIR BUILD_DIR CXX [SANITIZE]   (SANITIZE: meson's b_sanitize, e.g. address,undefined)
"""
import pathlib
import re
import subprocess
import sys
import tempfile

source, build, cxx = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
sanitize = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != "none" else ""
readme = (source / "README.md").read_text()
tour = readme[readme.index("## A tour of the API"):readme.index("## Training with `Sequential`")]
blocks = re.findall(r"```cpp\n(.*?)```", tour, re.S)
statements = [b for b in blocks[1:] if "template <class T>" not in b]  # the op file is a file of its own
program = blocks[0] + "int main() {\n" + "\n".join(statements) + "\nreturn 0;\n}\n"
printed = [line for block in re.findall(r"prints\n\n```\n(.*?)```", tour, re.S) for line in block.splitlines()]

with tempfile.TemporaryDirectory() as tmp:
    src, exe = pathlib.Path(tmp) / "tour.cpp", pathlib.Path(tmp) / "tour"
    src.write_text(program)
    includes = [f"-I{source / d}" for d in ("graph", "ops", "lib")]
    flags = [f"-fsanitize={sanitize}"] if sanitize else []  # a sanitized library needs its runtime first
    subprocess.run([cxx, "-std=c++17", "-O1", *flags, *includes, str(src), f"-L{build}", "-lgraphnn",
                    f"-Wl,-rpath,{build.resolve()}", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
missing = [line for line in printed if line not in out.splitlines()]
if missing:
    sys.exit("the README says the tour prints lines it does not print:\n" + "\n".join(missing) + "\n--- it printed:\n" + out)
print("README tour: compiled, ran, printed what the README says")
