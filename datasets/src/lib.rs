//! Dataset loaders (filled in by the datasets issue).
