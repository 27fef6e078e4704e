"""Input pipeline versus what a distillation step consumes:
scripts/benchmark_input.py (results in benchmarks/performance.md)."""

CONFIG = dict(
    list_file="train.txt",  # inside --data_dir
    batch_size=8,
    crop_size=[180, 240],  # augmentation crop
    num_classes=11,
    ignore_class=11,
    warmup_batches=10,  # untimed batches first
    window_batches=25,  # batches per timed window
    windows=8,  # timed windows, median reported
    seed=0,  # of shuffling and augmentation
    targets=[
        dict(
            name="pipeline >= 3x the images/s of the full distillation step",
            figure="ratio",
            where={},
            at_least=3.0,
        ),
    ],
    smoke=dict(
        batch_size=2,
        crop_size=[32, 40],
        warmup_batches=1,
        window_batches=3,
        windows=2,
    ),
)
