"""The runs layer: where every command's work runs and where its results land.

* :mod:`~awaken.runs.directory` - run directories that appear complete or not at all (or resume
  unit by unit), locked against a second writer, never replacing what awaken did not write;
* :mod:`~awaken.runs.provenance` - the one ``run.json`` format;
* :mod:`~awaken.runs.files` - files written atomically, values made JSON-safe;
* :mod:`~awaken.runs.execution` - tasks inline, on a local Dask cluster or an existing one;
* :mod:`~awaken.runs.progress` - progress bars.

Nothing here knows any science: the layers above hand it tables, figures and tasks.
"""
