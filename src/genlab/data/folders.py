"""Folders of data files with class labels from their subfolders (image folders, audio folders).

Two layouts: ``path/<class name>/<file>`` (one subfolder per class; classes in sorted name order) or the files
directly in ``path`` (no labels). Hidden files and folders (names starting with ``.``) and files of other types
are ignored; a folder mixing loose files and class subfolders is refused rather than guessed at.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genlab.errors import DataError

__all__ = ["data_files", "labelled_files"]


def data_files(folder: Path, extensions: tuple[str, ...]) -> list[Path]:
    """The files of ``folder`` whose name ends in one of ``extensions`` (case-insensitive), in name order."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in extensions)


def labelled_files(
    path: str | os.PathLike[str], extensions: tuple[str, ...], what: str, *, subfolders: bool = True
) -> tuple[list[Path], np.ndarray | None, list[str]]:
    """The files of a folder and their class labels (module notes).

    Parameters
    ----------
    path : str or path-like
    extensions : tuple of str
        File name endings read, lower case with the dot (``(".png", ".jpg")``).
    what : str
        How messages name the files ("images", "sound files").
    subfolders : bool, default True
        Whether class subfolders are looked at (False: only files directly in ``path``, no labels).

    Returns
    -------
    files : list of Path
        Loose files in name order, or the files of each class in turn.
    labels : ndarray of shape (n_files,), int64, or None
        Index of each file's class in ``class_names``; None for loose files.
    class_names : list of str
        The subfolder names holding files, sorted (empty for loose files).

    Raises
    ------
    DataError
        ``path`` is not a folder, holds no such file, or holds both loose files and class subfolders.
    """
    folder = Path(path)
    name = os.fspath(path)
    if not folder.is_dir():
        raise DataError(f"{name!r} is not a folder; give a folder of {what} (or of class subfolders).")
    loose = data_files(folder, extensions)
    classes: list[tuple[str, list[Path]]] = []
    if subfolders:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = data_files(sub, extensions)
            if files:
                classes.append((sub.name, files))
    if loose and classes:
        raise DataError(f"{name!r} holds both {what} and class subfolders ({classes[0][0]!r}, ...); put every file "
                        "in a class subfolder, or all of them directly in the folder.")
    if not loose and not classes:
        where = "directly or in class subfolders" if subfolders else "directly"
        raise DataError(f"no {what} found in {name!r} (looked for {', '.join(extensions)} files, {where}).")
    if loose:
        return loose, None, []
    labels = np.concatenate([np.full(len(files), k, dtype=np.int64) for k, (_, files) in enumerate(classes)])
    return [f for _, files in classes for f in files], labels, [class_name for class_name, _ in classes]
