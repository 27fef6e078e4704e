"""ADE20K through TFDS `scene_parse150`, offline from the archives.

TFDS builds `scene_parse150` from the instance annotations: 100 object
classes (0 = stuff/unlabelled, mapped to void), not the 150-class benchmark.

    keras-pfs-train --config configs/ade20k.py \
        --set manual_dir=/path/to/archives --set data_dir=~/tensorflow_datasets ...
"""

CONFIG = dict(
    dataset="tfds",
    tfds_name="scene_parse150",
    train_split="train",
    val_split="test",
    num_classes=100,
    ignore_class=255,
    crop_size=(384, 384),
    scale_range=(0.5, 2.0),
    teacher_preset="deeplabv3plus_resnet50",
    student_preset="deeplabv3plus_mobile",
    batch_size=8,
    epochs=40,
    learning_rate=1e-3,
)
