"""The reliability suite: fuzzing, path safety, retries, concurrency and fork safety.

Runs in CI with a bounded budget (about a minute on two cores).  Long runs:

* ``ZARRFAST_FUZZ_EXAMPLES=20000 HYPOTHESIS_PROFILE=thorough pytest tests/reliability``
  multiplies every hypothesis budget;
* ``python -m tests.reliability.fuzz_atheris -atheris_runs=2000000`` (needs ``pip install
  atheris``) runs coverage-guided fuzzing of the native decoders and the shard index;
* ``scripts/asan.sh`` runs the native tests and the native fuzzers under
  AddressSanitizer + UBSan (docs/sanitizers.md).

Crash safety (SIGKILL during writes on the filesystem and LMDB stores) is one shared
suite with the embedded-stores work: tests/test_storage/test_crash_safety.py.
"""
