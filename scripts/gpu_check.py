"""Checks the Distiller's GPU paths in minutes, before a long run.

The checks (one step on one device and under `MirroredStrategy`,
`mixed_float16`, XLA, throughput) are `keras_pfs.experiments.gpu_check`, at
the sizes of `benchmarks/configs/gpu_check.json`; without a GPU they run on
the config's smoke sizes on the CPU (`tests/test_gpu_check.py`). Writes
every check's figures and whether it passed; the exit status is 1 if a
check failed.

Usage:

    bash scripts/gpu_check.sh --output_json=gpu_check.json
"""

import benchmark_harness as harness
from absl import app, flags

from keras_pfs.experiments import benchmark, gpu_check, records

harness.define_flags("gpu_check")
flags.DEFINE_string("output_json", "gpu_check.json", "Where to write the results.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    gpus = gpu_check.use_two_cpus_without_gpu()  # before TF runs any op
    smoke = FLAGS.smoke or not gpus
    config = benchmark.load_config(FLAGS.config, FLAGS.set, smoke=smoke)
    result = gpu_check.run_checks(config)
    records.record_json(FLAGS.output_json, {"machine": records.machine(), **result})
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    app.run(main)
