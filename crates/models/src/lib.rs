//! Models trained with sliced-Wasserstein losses (filled in by the model issues).
