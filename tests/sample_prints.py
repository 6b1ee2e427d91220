#!/usr/bin/env python3
"""Runs a sample program and checks that it exits with 0 and prints EXPECTED.

usage: sample_prints.py EXPECTED PROGRAM [ARGS...]
"""
import subprocess
import sys

expected, command = sys.argv[1], sys.argv[2:]
run = subprocess.run(command, capture_output=True, text=True)
if run.returncode != 0:
    sys.exit(f"{command[0]} exited with {run.returncode}:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
if expected not in run.stdout:
    sys.exit(f"{command[0]} did not print '{expected}':\n{run.stdout[-2000:]}")
print(f"{command[0]}: printed '{expected}'")
