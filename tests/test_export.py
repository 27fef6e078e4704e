"""Export: every format and quantisation passes the parity gate, a corrupted
export is refused with the previous one kept, the SavedModel takes any size."""

import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_pfs
from keras_pfs import data, export, models
from tests.run_script import run_python
from tests.tiny_runs import snapshot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_CLASSES = 3
SIZE = (48, 64)


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """A tiny student after a few Adam steps, and its .keras file.

    Trained, not random: an untrained network's probabilities are nearly
    uniform, so its argmax flips on rounding noise and the agreement check
    would measure noise instead of the export.
    """
    keras.utils.set_random_seed(0)
    model = models.build_segmenter("tiny_mobile", NUM_CLASSES)
    distiller = keras_pfs.Distiller(student=model, teacher=None, distillation_losses={})
    distiller.compile(optimizer=keras.optimizers.Adam(3e-3))
    train = data.synthetic_dataset(
        "train", num_images=32, image_size=SIZE, num_classes=NUM_CLASSES, batch_size=8
    )
    distiller.fit(train, epochs=3, verbose=0)
    path = str(tmp_path_factory.mktemp("student") / "model.keras")
    model.save(path)
    return model, path


@pytest.fixture(scope="module")
def samples():
    return export.synthetic_samples(4, SIZE, NUM_CLASSES)


@pytest.fixture(scope="module")
def saved_model(student, samples, tmp_path_factory):
    model, _ = student
    images, labels = samples
    output = str(tmp_path_factory.mktemp("export") / "saved_model")
    report = export.export_model(
        model,
        output,
        "saved_model",
        parity_images=images,
        parity_labels=labels,
        num_classes=NUM_CLASSES,
    )
    return output, report


def test_saved_model_passes_parity_and_writes_report(saved_model):
    output, report = saved_model
    assert report["passed"] and report["installed"]
    with open(os.path.join(output, export.MARKER)) as f:
        assert json.load(f) == {"format": "saved_model"}
    assert report["max_abs_diff"] <= export.THRESHOLDS["float32"]["max_abs_diff"]
    assert report["miou_export"] == pytest.approx(report["miou_keras"], abs=1e-3)
    with open(export.report_path(output)) as f:
        assert json.load(f)["passed"]
    assert not [
        name for name in os.listdir(os.path.dirname(output)) if ".partial" in name
    ]


def test_saved_model_signature_takes_uint8_batches_of_any_size(saved_model):
    serve = tf.saved_model.load(saved_model[0]).signatures["serving_default"]
    for shape in ((2, 40, 56, 3), (1, 33, 47, 3)):
        images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
        outputs = serve(images=tf.constant(images))
        assert outputs["class_ids"].dtype == tf.int32
        assert tuple(outputs["class_ids"].shape) == shape[:3]
        assert tuple(outputs["probabilities"].shape) == (*shape[:3], NUM_CLASSES)
        np.testing.assert_allclose(
            np.sum(outputs["probabilities"], axis=-1), 1.0, atol=1e-5
        )


@pytest.mark.parametrize(
    "quantize",
    ["none", pytest.param("float16", marks=pytest.mark.slow), "dynamic"],
)
def test_tflite_export_passes_parity(student, samples, tmp_path, quantize):
    images, labels = samples
    output = str(tmp_path / f"{quantize}.tflite")
    report = export.export_model(
        student[0],
        output,
        "tflite",
        quantize=quantize,
        input_size=SIZE,
        parity_images=images,
        parity_labels=labels,
        num_classes=NUM_CLASSES,
    )
    assert report["passed"], report["failures"]
    assert report["input_size"] == list(SIZE)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=output)
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    assert inputs[0]["dtype"] == np.uint8
    assert list(inputs[0]["shape"][1:]) == [*SIZE, 3]


def write_list_file(directory, images, labels):
    lines = []
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        image_file, label_file = f"img{i}.png", f"lab{i}.png"
        tf.io.write_file(str(directory / image_file), tf.io.encode_png(image))
        tf.io.write_file(
            str(directory / label_file),
            tf.io.encode_png(label[..., None].astype("uint8")),
        )
        lines.append(f"{image_file} {label_file}")
    (directory / "list.txt").write_text("\n".join(lines) + "\n")
    return str(directory / "list.txt")


def run_export_cli(*args, prelude=""):
    """The console script in a child process; `prelude` runs first."""
    code = (
        f"import sys\n{prelude}\nfrom keras_pfs.cli import export\n"
        f"sys.argv = ['keras-pfs-export', *{list(args)!r}]\nexport.run()\n"
    )
    return run_python("-c", code)


@pytest.mark.slow
def test_cli_int8_with_calibration_and_parity_lists(student, samples, tmp_path):
    list_file = write_list_file(tmp_path, *samples)
    output = str(tmp_path / "out" / "int8.tflite")
    result = run_export_cli(
        f"--model={student[1]}",
        "--format=tflite",
        "--quantize=int8",
        f"--input_size={SIZE[0]},{SIZE[1]}",
        f"--calibration_list={list_file}",
        "--calibration_samples=4",
        f"--parity_list={list_file}",
        "--parity_samples=4",
        f"--num_classes={NUM_CLASSES}",
        f"--output={output}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.path.isfile(output)
    with open(export.report_path(output)) as f:
        report = json.load(f)
    assert report["passed"] and report["quantize"] == "int8"
    assert report["miou_keras"] is not None


@pytest.mark.slow
def test_cli_parity_gate_defaults_to_the_models_own_data(student, samples, tmp_path):
    list_file = write_list_file(tmp_path, *samples)
    shutil.copy(student[1], tmp_path / "model.keras")
    config = {"dataset": "list_file", "data_dir": str(tmp_path), "val_split": "list"}
    config.update(num_classes=NUM_CLASSES, ignore_class=255, crop_size=None)
    (tmp_path / "config.json").write_text(json.dumps(config))
    output = str(tmp_path / "saved_model")
    result = run_export_cli(
        f"--model={tmp_path / 'model.keras'}",
        "--format=saved_model",
        "--parity_samples=2",
        f"--output={output}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Parity gate on {list_file}" in result.stdout
    with open(export.report_path(output)) as f:
        report = json.load(f)
    assert report["passed"] and report["miou_keras"] is not None


# Exports a copy of the model with perturbed weights, as a broken converter
# or a stale checkpoint would; the gate compares it with the real model.
CORRUPT = """
import keras
import numpy as np
from keras_pfs.export import exporter, serving_model

def corrupted(segmenter, input_size=None):
    copy = keras.models.clone_model(segmenter)
    rng = np.random.default_rng(0)
    copy.set_weights([w + rng.normal(0, 0.5, w.shape) for w in segmenter.get_weights()])
    return serving_model.build_serving_model(copy, input_size)

exporter.build_serving_model = corrupted
"""


@pytest.mark.slow
def test_failed_gate_exits_non_zero_and_keeps_previous_export(
    student, saved_model, tmp_path
):
    output = str(tmp_path / "saved_model")
    shutil.copytree(saved_model[0], output)
    shutil.copy(export.report_path(saved_model[0]), export.report_path(output))
    before = snapshot(tmp_path)
    result = run_export_cli(
        f"--model={student[1]}",
        "--format=saved_model",
        "--parity_samples=2",
        f"--output={output}",
        prelude=CORRUPT,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Parity gate failed" in result.stderr
    # The installed export and its report are byte-identical; the failed
    # attempt's report is beside them.
    after = snapshot(tmp_path)
    assert {path: after.get(path) for path in before} == before
    assert sorted(os.listdir(tmp_path)) == [
        "saved_model",
        "saved_model.failed.parity.json",
        "saved_model.parity.json",
    ]
    with open(export.failed_report_path(output)) as f:
        report = json.load(f)
    assert not report["passed"] and not report["installed"] and report["failures"]


def test_bad_arguments_name_the_flag(student, samples):
    with pytest.raises(ValueError, match=r"must end with \.tflite"):
        export.export_model(student[0], "out.bin", "tflite", parity_images=samples[0])
    with pytest.raises(ValueError, match="tflite only"):
        export.export_model(
            student[0], "out", "saved_model", quantize="int8", parity_images=samples[0]
        )


def test_serving_runner_answers_like_the_keras_model_and_scores_miou(student, samples):
    model, _ = student
    images, labels = samples
    traced = export.serving_runner(model, SIZE)
    report = export.check_parity(
        export.keras_runner(model),
        traced,
        images,
        labels=labels,
        num_classes=NUM_CLASSES,
    )
    assert report["passed"], report["failures"]
    miou = export.runner_miou(traced, images, labels, NUM_CLASSES)
    assert miou == pytest.approx(report["miou_export"])


@pytest.mark.slow
def test_benchmark_deploy_smoke(tmp_path):
    result = run_python(
        os.path.join(ROOT, "scripts", "benchmark_deploy.py"),
        "--smoke",
        f"--output_dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "results.json") as f:
        results = json.load(f)
    runtimes = {(row["model"], row["runtime"]) for row in results["rows"]}
    assert runtimes == {
        (model, runtime)
        for model in ("teacher", "student")
        for runtime in ("keras", "saved_model", "litert_fp32_1t")
    }
    assert all(row["latency_ms"] > 0 for row in results["rows"])
    readme = (tmp_path / "README.md").read_text()
    assert "untrained" in readme
    assert "| model | runtime | latency (ms) | size (MB) | mIoU |" in readme
    # The smoke run exports no int8 model: its targets are not measured.
    assert [t["met"] for t in results["targets"]] == [None, None]
