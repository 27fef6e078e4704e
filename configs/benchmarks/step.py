"""Distillation step versus student step + teacher inference:
scripts/benchmark_step.py (results in benchmarks/performance.md)."""

CONFIG = dict(
    teacher="deeplabv3plus_resnet18",
    student="deeplabv3plus_mobile",
    batch_size=8,
    height=180,
    width=240,
    num_classes=11,
    ignore_class=11,
    jit=["off", "on"],  # XLA settings (the Distiller's jit_compile) to time
    # name -> distillation terms of the Distiller ([]: supervised student step,
    # None: the teacher's inference alone). student, teacher and full are
    # required; a "no_<term>" entry gives the cost of <term> (full minus it).
    configs={
        "student": [],
        "teacher": None,
        "full": ["pfs", "imitation"],
        "no_pfs": ["imitation"],
        "no_imitation": ["pfs"],
    },
    repeats=10,  # timed rounds, medians over these
    warmup=2,  # untimed rounds after the tracing calls
    seed=0,  # of the models' weights and of the random batch
    targets=[
        dict(
            name="full step <= 1.10 x (student step + teacher inference), XLA off",
            figure="overhead_ratio",
            where={"jit": "off"},
            at_most=1.10,
        ),
    ],
    smoke=dict(
        teacher="tiny_resnet",
        student="tiny_mobile",
        batch_size=2,
        height=32,
        width=40,
        jit=["off"],
        configs={"student": [], "teacher": None, "full": ["pfs", "imitation"]},
        repeats=2,
        warmup=1,
    ),
)
