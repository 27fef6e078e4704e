import pytest

from keras_pfs.config import ExperimentConfig, load_config, parse_override


def test_defaults_file_and_overrides(tmp_path):
    path = tmp_path / "exp.py"
    path.write_text("CONFIG = dict(epochs=3, image_size=[32, 48])\n")
    config = load_config(str(path), ["learning_rate=0.1", "student_preset=tiny_mobile"])
    assert config.epochs == 3
    assert config.image_size == (32, 48)
    assert config.learning_rate == 0.1
    assert config.student_preset == "tiny_mobile"
    assert load_config().to_dict() == ExperimentConfig().to_dict()


def test_unknown_keys_name_the_key_and_the_file(tmp_path):
    path = tmp_path / "exp.py"
    path.write_text("CONFIG = dict(lerning_rate=0.1)\n")
    with pytest.raises(ValueError, match=r"exp\.py: unknown config key 'lerning_rate'"):
        load_config(str(path))
    with pytest.raises(ValueError, match=r"--set: unknown config key 'epoch'"):
        load_config(None, ["epoch=2"])


def test_missing_file_and_missing_config_dict(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_config(str(tmp_path / "nope.py"))
    path = tmp_path / "bad.py"
    path.write_text("EPOCHS = 2\n")
    with pytest.raises(ValueError, match="must define a dict named CONFIG"):
        load_config(str(path))


def test_shipped_configs_load():
    import glob
    import os

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = glob.glob(os.path.join(root, "configs", "*.py"))
    assert paths
    for path in paths:
        load_config(path)


@pytest.mark.parametrize(
    "text, value",
    [
        ("epochs=2", 2),
        ("crop_size=[120, 160]", [120, 160]),
        ("distillation_losses={'kd': {}}", {"kd": {}}),
        ("mixed_precision=True", True),
        ("mixed_precision=true", True),  # JSON, as in comparison files
        ("teacher=None", None),
        ("teacher=null", None),
        ("student_preset=tiny_mobile", "tiny_mobile"),
        ("name=b c", "b c"),
        ("data_dir=a=b", "a=b"),
    ],
)
def test_one_override_language_for_every_command(text, value):
    key, parsed = parse_override(text)
    assert (key, parsed) == (text.split("=", 1)[0], value)
    assert type(parsed) is type(value)


def test_an_override_without_a_value_is_named():
    with pytest.raises(ValueError, match=r"--set 'epochs': expected key=value"):
        parse_override("epochs")
