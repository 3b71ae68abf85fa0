//! The JSON Schemas (`schema/*.json`, the same files editors use) applied to parsed files.
