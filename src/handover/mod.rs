//! The last stage: handing the call to the real uv. Find it
//! ([`real_uv`]), remember the hand-over for the next call ([`warm`]), and
//! start it with the decided variables ([`exec`]).

pub mod exec;
pub mod real_uv;
pub mod warm;
