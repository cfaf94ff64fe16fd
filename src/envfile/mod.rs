//! The env file: its text (`render`), how it is written (`write`) and where (`place`),
//! the files of `|file=true` outputs beside it (`outputs`), and the record of credentials
//! to revoke (`minted`).

mod minted;
mod outputs;
mod place;
mod render;
mod write;

pub use minted::{
    add as record_minted, forget as forget_minted, minted_path, recorded as recorded_minted,
};
pub use outputs::{files_dir, remove_gone, write_files};
pub use place::{EnvFile, destination, env_file, is_current, stamp, stamp_path};
pub use render::{Format, Parsed, parse, render};
pub use write::write;
