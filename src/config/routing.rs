//! The `[routing]` table: where the routing file is. The file itself is read by
//! `core::routing`.

use crate::config::ConfigError;
use crate::config::toml::key_path;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where the routing file is, for a `[routing]` table in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingSettings {
    /// The routing file; relative paths are the caller's to resolve (against the config file's
    /// folder). Default `routing.toml`: not inside `rules/`, whose every `*.toml` is a rule file.
    pub file: PathBuf,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            file: PathBuf::from("routing.toml"),
        }
    }
}

impl RoutingSettings {
    /// Every problem, each with its key path under `at` (e.g. `routing`). The file's own content
    /// is checked by `core::routing::Routing::load`.
    pub fn validate(&self, at: &str) -> Vec<ConfigError> {
        let key = key_path(at, "file");
        if self.file.as_os_str().is_empty() {
            vec![ConfigError {
                key,
                message: "empty path; give the routing file, e.g. file = \"routing.toml\"".into(),
            }]
        } else {
            Vec::new()
        }
    }
}
