"""Measured benchmarks for the book's performance chapter: ``python -m bench`` (``make bench``).

Four benchmarks, each writing a CSV (with the machine on every row) and a PNG under ``results/bench/``:
``pipeline`` (input pipeline), ``overhead`` (trainer vs a bare loop), ``steps`` (step cost per backbone) and
``grid`` (GPU-hours of the paper's grid). ``targets.csv`` says which of the issue's targets the run met.
``python -m bench.gpu`` measures training steps on a CUDA GPU. Not part of ``make test``.
"""
