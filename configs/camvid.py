"""CamVid (SegNet split, 240x180): the accuracy benchmark.

Pass the dataset folder on the command line; it is never copied:
    keras-pfs-train --config configs/camvid.py \
        --set data_dir=../shared/datasets/camvid --role teacher \
        --workdir runs/camvid/teacher
"""

CONFIG = dict(
    dataset="list_file",
    train_split="train",
    val_split="val",
    num_classes=11,
    ignore_class=11,
    class_names=(
        "sky",
        "building",
        "pole",
        "road",
        "sidewalk",
        "tree",
        "sign/symbol",
        "fence",
        "car",
        "pedestrian",
        "bicyclist",
    ),
    palette="camvid",
    # Train on full frames with scale jitter and flips; evaluate at native size.
    crop_size=(180, 240),
    scale_range=(0.75, 1.5),
    flip=True,
    teacher_preset="deeplabv3plus_resnet18",
    # The teacher's ASPP sits at stride 32: a 6x8 map on full frames, where
    # DeepLab's rates (6, 12, 18) read only padding beyond the centre tap and
    # make a training step 6.6x slower on AVX2 CPUs (4.3 s vs 0.65 s).
    teacher_options={"dilation_rates": (1, 2, 3)},
    student_preset="deeplabv3plus_mobile",
    batch_size=8,
    epochs=12,
    learning_rate=2e-3,
    distillation_losses={"pfs": {}, "imitation": {}},
)
