//! The forms of `arch` and `os` that uv's download lists have used over
//! time, read into the current one: `arch` as a plain string (lists before
//! 2024-12) and `os = "macos"`. The entry is written back for uv in the
//! current form (see `fields::write`), in the shim's copy and in what
//! `mirror sync --from` writes.

use serde::Deserialize;

/// The name old uv lists gave macOS, and the name uv reads now.
const OLD_MACOS: (&str, &str) = ("macos", "darwin");

/// `os`, in the current spelling, and whether it came in an old one.
#[derive(Debug)]
pub struct Os {
    /// The name uv reads.
    pub name: String,
    /// True when the document wrote an old name (written back as `name`).
    pub upgraded: bool,
}

/// Reads `os`, an old spelling as the current one.
pub fn current_os<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Os, D::Error> {
    let written = String::deserialize(deserializer)?;
    Ok(if written == OLD_MACOS.0 {
        Os {
            name: OLD_MACOS.1.to_string(),
            upgraded: true,
        }
    } else {
        Os {
            name: written,
            upgraded: false,
        }
    })
}

/// `arch`: a family and an optional variant (`x86_64` `v3`); uv lists
/// before 2024-12 wrote the family alone, as a plain string.
#[derive(Debug)]
pub struct Arch {
    /// The family.
    pub family: String,
    /// The variant.
    pub variant: Option<String>,
    /// True when the document wrote the old plain-string form.
    pub plain: bool,
}

/// The current form of `arch`, as uv reads it.
#[derive(Deserialize)]
struct ArchObject {
    family: String,
    #[serde(default)]
    variant: Option<String>,
}

impl<'de> Deserialize<'de> for Arch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Arch, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = Arch;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object with `family` (or, in the old form, a string)")
            }
            fn visit_str<E: serde::de::Error>(self, family: &str) -> Result<Arch, E> {
                Ok(Arch {
                    family: family.to_string(),
                    variant: None,
                    plain: true,
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Arch, A::Error> {
                let object =
                    ArchObject::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Arch {
                    family: object.family,
                    variant: object.variant,
                    plain: false,
                })
            }
        }
        deserializer.deserialize_any(Either)
    }
}
