"""The parity gate: does an exported artifact answer like the Keras model?"""

import numpy as np
import tensorflow as tf

from keras_pfs.export.serving_model import INPUT_NAME, build_serving_model
from keras_pfs.metrics import SegmentationIoU

# Thresholds per export format (max |diff| of probabilities, minimum argmax
# agreement, maximum mIoU drop when labels are given). Measured on this
# platform, max |diff| / agreement: a tiny trained segmenter (tests) fp32
# 1.5e-7 / 1.0, fp16 3.2e-4 / 1.0, dynamic range 2.3e-3 / 1.0, int8 7.9e-3 /
# 1.0; the untrained DeepLabV3+ ResNet-18 at 180x240 fp32 1.3e-7, fp16 4.1e-5
# / 0.998, int8 5.0e-3 / 0.93 (random weights give near-uniform
# probabilities, so argmax flips on tiny errors; trained models agree far
# better). The limits leave about 10x headroom on the differences, yet stay
# far below what a wrong model gives (probabilities off by > 0.1, agreement
# near chance).
# int8 is judged on agreement and mIoU: on the trained CamVid student
# (benchmarks/deploy) int8 kept 98.8% of pixels' class and lost 0.35 mIoU,
# yet its largest single-pixel probability difference over 101 val images
# (4.4M pixels) was 0.25, a boundary pixel near a tie. The max is a tail
# statistic of the image count, so for int8 it only catches gross breakage;
# the mIoU limit is the product target (<= 1.0 mIoU lost).
THRESHOLDS = {
    "float32": {"max_abs_diff": 1e-4, "min_agreement": 0.999, "max_miou_drop": 0.001},
    "float16": {"max_abs_diff": 1e-2, "min_agreement": 0.995, "max_miou_drop": 0.005},
    "dynamic": {"max_abs_diff": 5e-2, "min_agreement": 0.99, "max_miou_drop": 0.01},
    "int8": {"max_abs_diff": 0.5, "min_agreement": 0.97, "max_miou_drop": 0.01},
}


def saved_model_runner(path):
    """`images uint8 (B, H, W, 3) -> (class_ids, probabilities)` NumPy arrays
    from the `serving_default` signature of the SavedModel at `path`."""
    serve = tf.saved_model.load(path).signatures["serving_default"]

    def run(images):
        outputs = serve(**{INPUT_NAME: tf.constant(images, tf.uint8)})
        return outputs["class_ids"].numpy(), outputs["probabilities"].numpy()

    return run


def tflite_runner(path, num_threads=None):
    """Like `saved_model_runner` for a .tflite file, through LiteRT's
    `serving_default` signature (default XNNPACK delegate), one image at a
    time as on a device."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=num_threads)
    interpreter.allocate_tensors()
    serve = interpreter.get_signature_runner("serving_default")

    def run(images):
        outputs = [serve(**{INPUT_NAME: image[None]}) for image in images]
        return (
            np.concatenate([o["class_ids"] for o in outputs]),
            np.concatenate([o["probabilities"] for o in outputs]),
        )

    return run


def keras_runner(segmenter):
    """Like `saved_model_runner` for the Keras segmenter itself (softmax and
    argmax of its logits), independent of the serving wrapper."""

    def run(images):
        outputs = segmenter(images.astype(np.float32), training=False)
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs
        return (
            np.asarray(tf.argmax(logits, axis=-1, output_type=tf.int32)),
            np.asarray(tf.nn.softmax(logits, axis=-1)),
        )

    return run


def serving_runner(segmenter, input_size=None):
    """Like `saved_model_runner` for the Keras model behind its serving
    wrapper (`build_serving_model`), traced once as `predict` would: the
    Keras side of a latency comparison with the exported artifacts.

    Args:
        segmenter: a Keras segmenter (see `build_serving_model`).
        input_size: `(height, width)` fixed in the signature, or `None`.

    Example:

    >>> from keras_pfs import models
    >>> run = serving_runner(models.build_segmenter("tiny_mobile", 3), (32, 32))
    >>> [a.shape for a in run(np.zeros((1, 32, 32, 3), np.uint8))]
    [(1, 32, 32), (1, 32, 32, 3)]
    """
    serving = build_serving_model(segmenter, input_size)
    call = tf.function(lambda images: serving(images, training=False))

    def run(images):
        outputs = call(tf.constant(images))
        return np.asarray(outputs["class_ids"]), np.asarray(outputs["probabilities"])

    return run


def _miou(predictions, labels, num_classes, ignore_class):
    metric = SegmentationIoU(num_classes, ignore_class=ignore_class)
    for prediction, label in zip(predictions, labels, strict=True):
        metric.update_state(label[None], prediction[None])
    return float(metric.result())


def runner_miou(run, images, labels, num_classes, ignore_class=255):
    """The mIoU of a runner's probabilities, one image at a time.

    Args:
        run: a runner (`keras_runner`, `serving_runner`,
            `saved_model_runner`, `tflite_runner`).
        images: sequence of uint8 `(H, W, 3)` arrays.
        labels: int `(H, W)` label maps matching `images`.
        num_classes: classes K.
        ignore_class: void label id.

    Returns:
        The mIoU, a float in 0..1.

    Example:

        miou = runner_miou(tflite_runner("student_int8.tflite"), images,
                           labels, num_classes=11, ignore_class=11)
    """
    predictions = [run(image[None])[1][0] for image in images]
    return _miou(predictions, labels, num_classes, ignore_class)


def check_parity(
    reference,
    candidate,
    images,
    quantize="none",
    labels=None,
    num_classes=None,
    ignore_class=255,
    thresholds=None,
):
    """Runs both models on the same images and applies the format's limits.

    Args:
        reference: runner (see `keras_runner`) of the Keras model.
        candidate: runner of the exported artifact.
        images: sequence of uint8 `(H, W, 3)` arrays; run one at a time so
            that sizes may differ.
        quantize: `"none"` (float32), `"float16"`, `"dynamic"` or `"int8"`;
            picks the limits in `THRESHOLDS`.
        labels: optional int `(H, W)` label maps matching `images`; then the
            mIoU of both models is reported and its drop gated.
        num_classes: classes K, required with `labels`.
        ignore_class: void label id.
        thresholds: dict overriding some of the format's limits
            (`max_abs_diff`, `min_agreement`, `max_miou_drop`).

    Returns:
        A JSON-ready dict: `passed`, the measured `max_abs_diff`,
        `mean_abs_diff`, `agreement` (fraction of pixels with the same class
        id), `miou_keras`/`miou_export` (or `None`), the `thresholds` and
        `failures` (one sentence per violated limit).

    Example:

    >>> report = check_parity(keras_runner(serving), tflite_runner("m.tflite"),
    ...                       images, quantize="int8")  # doctest: +SKIP
    """
    limits = dict(THRESHOLDS["float32" if quantize == "none" else quantize])
    unknown = sorted(set(thresholds or {}) - set(limits))
    if unknown:
        raise ValueError(
            f"Unknown parity thresholds {unknown}; known: {sorted(limits)}."
        )
    limits.update(thresholds or {})
    max_diff, abs_sum, agree, pixels = 0.0, 0.0, 0, 0
    reference_ids, candidate_ids = [], []
    for image in images:
        ids_a, probs_a = reference(image[None])
        ids_b, probs_b = candidate(image[None])
        diff = np.abs(probs_a.astype(np.float64) - probs_b)
        max_diff = max(max_diff, float(diff.max()))
        abs_sum += float(diff.sum())
        agree += int(np.sum(ids_a == ids_b))
        pixels += ids_a.size
        reference_ids.append(ids_a[0])
        candidate_ids.append(ids_b[0])
    report = {
        "quantize": quantize,
        "num_images": len(reference_ids),
        "max_abs_diff": max_diff,
        "mean_abs_diff": abs_sum / (pixels * probs_a.shape[-1]),
        "agreement": agree / pixels,
        "miou_keras": None,
        "miou_export": None,
        "thresholds": limits,
    }
    failures = []
    if max_diff > limits["max_abs_diff"]:
        failures.append(
            f"max |diff| of probabilities {max_diff:.3g} > {limits['max_abs_diff']}"
        )
    if report["agreement"] < limits["min_agreement"]:
        failures.append(
            f"argmax agreement {report['agreement']:.4f} < {limits['min_agreement']}"
        )
    if labels is not None:
        one_hot = [np.eye(num_classes, dtype=np.float32)[ids] for ids in reference_ids]
        report["miou_keras"] = _miou(one_hot, labels, num_classes, ignore_class)
        one_hot = [np.eye(num_classes, dtype=np.float32)[ids] for ids in candidate_ids]
        report["miou_export"] = _miou(one_hot, labels, num_classes, ignore_class)
        drop = report["miou_keras"] - report["miou_export"]
        if drop > limits["max_miou_drop"]:
            failures.append(f"mIoU drop {drop:.4f} > {limits['max_miou_drop']}")
    report.update(passed=not failures, failures=failures)
    return report
