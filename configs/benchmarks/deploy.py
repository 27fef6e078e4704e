"""Deployment: Keras vs SavedModel vs LiteRT: scripts/benchmark_deploy.py
(results in benchmarks/deploy/)."""

CONFIG = dict(
    teacher_preset="deeplabv3plus_resnet18",  # untrained, without --teacher
    student_preset="deeplabv3plus_mobile",  # untrained, without --student
    num_classes=11,
    ignore_class=11,
    input_size=[180, 240],  # H, W of the timed images
    num_images=101,  # images of --list_file scored
    calibration_samples=32,  # int8 calibration images
    quantize=["none", "float16", "int8"],  # LiteRT variants
    threads=[1, 2],  # LiteRT num_threads
    repeats=20,  # timed calls per runtime, median reported
    targets=[
        dict(
            name="int8 student loses at most 1.0 mIoU against the Keras student",
            figure="miou",
            where={"model": "student", "runtime": "litert_int8_1t"},
            versus={"model": "student", "runtime": "keras"},
            measure="difference",
            at_most=0.01,
        ),
        dict(
            name="int8 student >= 5x faster than the teacher's fp32 LiteRT model",
            figure="latency_ms",
            where={"model": "student", "runtime": "litert_int8_1t"},
            versus={"model": "teacher", "runtime": "litert_fp32_1t"},
            at_least=5.0,
        ),
    ],
    smoke=dict(
        teacher_preset="tiny_resnet",
        student_preset="tiny_mobile",
        input_size=[48, 64],
        num_images=2,
        calibration_samples=2,
        quantize=["none"],
        threads=[1],
        repeats=2,
    ),
)
