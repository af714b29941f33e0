"""Student-architecture searches of the two baselines, on pymoo: Compressor's genetic search
towards a size target (``compressor``) and AVATAR's surrogate-assisted multi-objective search
(``avatar``). Both score candidates analytically (``moekd.models.footprint``); only AVATAR's
handful of surrogate samples are really distilled, by a ``measure`` the caller supplies."""
