import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_collection_modifyitems(items):
    # Long tests first: with two workers stealing work, the short ones then
    # fill the gaps instead of one worker finishing a long test alone at the end.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
