"""Running repprofile on Dask and Spark (see docs/scale.md): the per-partition functions
both engines share (:mod:`._common`) and each engine's driver code, imported only when
``repprofile.dask`` or ``repprofile.spark`` is used."""
