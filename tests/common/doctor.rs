//! What `uv-shim doctor --json` said, with the look-ups stories make in it.

use std::process::Output;

use serde_json::Value;

use super::env::stderr;

/// What `doctor --json` said.
pub struct Report {
    /// The whole report.
    pub json: Value,
    /// The doctor's run (its stderr goes into [`Report::dump`]).
    pub output: Output,
}

impl Report {
    /// The line of the DNS source.
    pub fn dns(&self) -> &Value {
        self.json["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .find(|s| s["name"] == "dns")
            .expect("a dns source line")
    }

    /// The DNS source's status (`chosen`, `not set`, …).
    pub fn dns_status(&self) -> &str {
        self.dns()["status"].as_str().unwrap()
    }

    /// The DNS source's detail lines, one string.
    pub fn dns_details(&self) -> String {
        let details: Vec<&str> = self.dns()["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        details.join("\n")
    }

    /// The mirror bases in failover order (empty: no mirror).
    pub fn bases(&self) -> Vec<String> {
        match &self.json["mirror"] {
            Value::Null => Vec::new(),
            mirror => mirror["bases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_str().unwrap().to_string())
                .collect(),
        }
    }

    /// The value the shim sets (or keeps) for `name`, if any.
    pub fn env_var(&self, name: &str) -> Option<&Value> {
        self.json["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
    }

    /// For assertion messages.
    pub fn dump(&self) -> String {
        format!(
            "{}\n--- stderr\n{}",
            serde_json::to_string_pretty(&self.json).unwrap(),
            stderr(&self.output)
        )
    }
}
