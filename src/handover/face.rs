//! Which program gets the call: the face the shim was started under (`uv`,
//! `uvx`, `uvw` on Windows) decides what the pipeline hands over to.
//!
//! The real `uvw` (Windows) is uv without a console window: it runs its
//! folder's `uv` with the same arguments, so the same rule applies, and in
//! its place the shim starts the real uv itself, with no window.
//!
//! The real `uvx` only runs `<its own folder>/uv tool uvx ARGS` (`tool run`
//! before uv 0.2.22). So a uvx call goes to the real `uvx` beside the real uv
//! only when that folder's `uv` *is* the real uv; anywhere else (no `uvx`
//! there, or the real uv renamed, say `uv-real` beside the shim, where the
//! real `uvx` would come back through the shim) the shim runs the real uv
//! with uvx's arguments itself, which is all the real `uvx` would do.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::uv_version::Version;
use crate::inputs::Inputs;

/// The name the binary was started under, when it is one of uv's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// `uv`: every argument to the real uv.
    Uv,
    /// `uvx`: the real `uvx`, or the real uv's `tool uvx`.
    Uvx,
    /// `uvw` (Windows): uv without a console window (the real `uvw`, or
    /// the real uv started with no window).
    Uvw,
}

/// The first uv that has the hidden `tool uvx` command (uv PR 4770); before
/// it the real `uvx` ran `tool run`.
const TOOL_UVX_SINCE: Version = Version(0, 2, 22);

impl Face {
    /// The face for a file stem, `None` for the `uv-shim` tool face.
    pub fn from_stem(stem: &str) -> Option<Face> {
        match stem {
            "uv" => Some(Face::Uv),
            "uvx" => Some(Face::Uvx),
            "uvw" if cfg!(windows) => Some(Face::Uvw),
            _ => None,
        }
    }

    /// Whether the program is started without a console window (`uvw`).
    pub fn hides_console(self) -> bool {
        self == Face::Uvw
    }

    /// The program's name, as uv ships it.
    pub fn name(self) -> &'static str {
        match self {
            Face::Uv => "uv",
            Face::Uvx => "uvx",
            Face::Uvw => "uvw",
        }
    }
}

/// What is started: a program and the arguments put before the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The program.
    pub program: PathBuf,
    /// Arguments before the caller's (`tool uvx` when uv stands in for uvx).
    pub prefix: Vec<String>,
}

impl Target {
    /// The full argument list for the caller's `args`.
    pub fn args(&self, args: Vec<OsString>) -> Vec<OsString> {
        self.prefix.iter().map(OsString::from).chain(args).collect()
    }

    /// What `doctor` says a `face` call (uvx, uvw) runs.
    pub fn explain(&self, face: Face) -> String {
        let beside = self
            .program
            .file_stem()
            .is_some_and(|stem| stem == face.name());
        if beside {
            format!(
                "{} (the real {} beside the real uv)",
                self.program.display(),
                face.name()
            )
        } else if face.hides_console() {
            format!(
                "none beside the real uv: runs {} with no console window",
                self.describe()
            )
        } else {
            format!(
                "none usable beside the real uv: runs {} instead",
                self.describe()
            )
        }
    }

    /// One line for `doctor` and the debug log.
    pub fn describe(&self) -> String {
        let mut line = self.program.display().to_string();
        for arg in &self.prefix {
            line.push(' ');
            line.push_str(arg);
        }
        line
    }
}

/// What `face` starts, given the real uv and its version (unknown is taken
/// for a recent one). Every path looked at is recorded in `inputs`, so a
/// `uvx` appearing or going beside the real uv changes a remembered plan.
pub fn target(face: Face, uv: &Path, version: Option<&Version>, inputs: &Inputs) -> Target {
    let beside = match face {
        Face::Uv => {
            return Target {
                program: uv.to_path_buf(),
                prefix: Vec::new(),
            };
        }
        Face::Uvx | Face::Uvw => uv.with_file_name(exe(face.name())),
    };
    // The real uvx runs the `uv` in its own folder: only when that is the
    // real uv does it lead where the shim means to go.
    let uv_is_plain = uv.file_name() == Some(exe("uv").as_ref());
    if uv_is_plain && inputs.stamp(&beside).exists() && !is_this_binary(&beside) {
        return Target {
            program: beside,
            prefix: Vec::new(),
        };
    }
    if face == Face::Uvw {
        // The real uvw runs its folder's uv with the same arguments.
        return Target {
            program: uv.to_path_buf(),
            prefix: Vec::new(),
        };
    }
    let command = match version {
        Some(v) if *v < TOOL_UVX_SINCE => "run",
        _ => "uvx",
    };
    Target {
        program: uv.to_path_buf(),
        prefix: vec!["tool".into(), command.into()],
    }
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

fn is_this_binary(path: &Path) -> bool {
    match (
        super::real_uv::this_binary(),
        same_file::Handle::from_path(path),
    ) {
        (Some(me), Ok(other)) => me == other,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_by_stem() {
        assert_eq!(Face::from_stem("uv"), Some(Face::Uv));
        assert_eq!(Face::from_stem("uvx"), Some(Face::Uvx));
        assert_eq!(Face::from_stem("uv-shim"), None);
        assert_eq!(Face::from_stem("uvw").is_some(), cfg!(windows));
    }

    #[test]
    fn uvx_beside_the_real_uv_or_its_tool_command() {
        let dir = tempfile::tempdir().unwrap();
        let uv = dir.path().join(exe("uv"));
        std::fs::write(&uv, "").unwrap();
        let inputs = Inputs::new();
        let new = Version(0, 13, 9);
        // No uvx beside: the real uv with the command its uvx would use.
        let t = target(Face::Uvx, &uv, Some(&new), &inputs);
        assert_eq!(
            (t.program.as_path(), t.prefix.as_slice()),
            (uv.as_path(), &["tool".to_string(), "uvx".into()][..])
        );
        let old = target(Face::Uvx, &uv, Some(&Version(0, 2, 21)), &inputs);
        assert_eq!(old.prefix, ["tool", "run"]);
        let first = target(Face::Uvx, &uv, Some(&TOOL_UVX_SINCE), &inputs);
        assert_eq!(first.prefix, ["tool", "uvx"]);
        let unknown = target(Face::Uvx, &uv, None, &inputs);
        assert_eq!(unknown.prefix, ["tool", "uvx"]);
        // The path looked at is recorded, so a uvx appearing moves the plan.
        let uvx = dir.path().join(exe("uvx"));
        assert!(inputs.files().iter().any(|(file, _)| *file == uvx));
        std::fs::write(&uvx, "").unwrap();
        let t = target(Face::Uvx, &uv, Some(&new), &Inputs::new());
        assert_eq!(
            t,
            Target {
                program: uvx,
                prefix: Vec::new()
            }
        );
        // The real uv renamed: its folder's `uvx` would run another `uv`.
        let renamed = dir.path().join("uv-real");
        let t = target(Face::Uvx, &renamed, Some(&new), &Inputs::new());
        assert_eq!(
            (t.program.clone(), t.describe()),
            (renamed.clone(), format!("{} tool uvx", renamed.display()))
        );
        // uvw: the real uvw beside the real uv, else the real uv as it is.
        let t = target(Face::Uvw, &uv, Some(&new), &Inputs::new());
        assert!(t.explain(Face::Uvw).ends_with("with no console window"));
        assert_eq!((t.program, t.prefix), (uv.clone(), Vec::<String>::new()));
        let uvw = dir.path().join(exe("uvw"));
        std::fs::write(&uvw, "").unwrap();
        let t = target(Face::Uvw, &uv, Some(&new), &Inputs::new());
        assert!(
            t.explain(Face::Uvw)
                .ends_with("(the real uvw beside the real uv)")
        );
        assert_eq!((t.program, t.prefix), (uvw, Vec::<String>::new()));
        assert!(Face::Uvw.hides_console() && !Face::Uvx.hides_console());
        // The uv face runs the real uv as it is.
        let t = target(Face::Uv, &uv, None, &Inputs::new());
        assert!(t.prefix.is_empty() && t.program == uv);
    }
}
