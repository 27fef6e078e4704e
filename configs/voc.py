"""Pascal VOC 2012 segmentation (21 classes, 255 = void).

keras-pfs-train --config configs/voc.py --set data_dir=/path/to/VOC2012 ...
"""

from keras_pfs.data import VOC_CLASS_NAMES

CONFIG = dict(
    dataset="voc",
    train_split="train",
    val_split="val",
    num_classes=21,
    ignore_class=255,
    class_names=VOC_CLASS_NAMES,
    crop_size=(320, 320),
    scale_range=(0.5, 2.0),
    teacher_preset="deeplabv3plus_resnet50",
    student_preset="deeplabv3plus_mobile",
    batch_size=8,
    epochs=50,
    learning_rate=1e-3,
)
