"""genlab.data.folders: class-labelled folders, the one layout rule of image and audio folders."""

from __future__ import annotations

import pytest

from genlab.data.folders import labelled_files
from genlab.errors import DataError

EXTENSIONS = (".png", ".jpg")


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_loose_files_and_class_subfolders(tmp_path):
    for name in ("b.png", "a.JPG", ".hidden.png", "notes.txt"):
        touch(tmp_path / "loose" / name)
    files, labels, names = labelled_files(tmp_path / "loose", EXTENSIONS, "images")
    assert [f.name for f in files] == ["a.JPG", "b.png"] and labels is None and names == []
    for name in ("zebra/1.png", "zebra/0.png", "ant/x.jpg", "empty/readme.md", ".git/y.png"):
        touch(tmp_path / "classes" / name)
    files, labels, names = labelled_files(tmp_path / "classes", EXTENSIONS, "images")
    assert names == ["ant", "zebra"] and labels.tolist() == [0, 1, 1]
    assert [f"{f.parent.name}/{f.name}" for f in files] == ["ant/x.jpg", "zebra/0.png", "zebra/1.png"]
    # without subfolders only the loose files count
    with pytest.raises(DataError, match=r"no images found in '.*classes' \(looked for .png, .jpg files, directly\)"):
        labelled_files(tmp_path / "classes", EXTENSIONS, "images", subfolders=False)


def test_layout_errors(tmp_path):
    with pytest.raises(DataError, match=r"'.*absent' is not a folder; give a folder of sound files \(or of class "):
        labelled_files(tmp_path / "absent", EXTENSIONS, "sound files")
    touch(tmp_path / "mixed" / "loose.png")
    touch(tmp_path / "mixed" / "cls" / "a.png")
    with pytest.raises(DataError, match=r"holds both images and class subfolders \('cls', \.\.\.\); put every file in"):
        labelled_files(tmp_path / "mixed", EXTENSIONS, "images")
    (tmp_path / "none" / "sub").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no images found in '.*none' \(looked for .png, .jpg files, directly or in "
                                        r"class subfolders\)"):
        labelled_files(tmp_path / "none", EXTENSIONS, "images")


def test_image_models_read_folders_through_the_data_layer():
    import genlab.data
    import genlab.images.data

    assert genlab.images.data.load_image_folder is genlab.data.load_image_folder
    assert genlab.images.data.requantize is genlab.data.images.requantize
