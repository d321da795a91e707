//! `mirror export` and `mirror import`: carrying a mirror across an air gap
//! as a tar bundle (or numbered parts), verified file by file on the other
//! side and published there metadata last.
//!
//! [`format`]: the bundle's entries and manifest; [`parts`]: one file or
//! numbered parts; [`export`](mod@export) and [`import`](mod@import): the
//! two commands.

pub mod export;
mod format;
pub mod import;
mod parts;
