//! The env file: its text (`render`), how it is written (`write`) and where
//! (`place`).

mod place;
mod render;
mod write;

pub use place::{EnvFile, destination, env_file, is_current, stamp_path};
pub use render::{Format, parse, render};
pub use write::write;
