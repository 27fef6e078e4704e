"""The built-in procedural dataset: the demo and the tests' end-to-end run."""

CONFIG = dict(
    dataset="synthetic",
    num_classes=5,
    ignore_class=255,
    class_names=("background", "circle", "square", "triangle", "ring"),
    image_size=(64, 64),
    num_train_images=512,
    num_val_images=128,
    teacher_preset="tiny_resnet",
    student_preset="tiny_mobile",
    batch_size=16,
    epochs=10,
    learning_rate=2e-3,
    distillation_losses={"pfs": {}, "imitation": {}},
)
