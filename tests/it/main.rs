//! The integration suite: one test binary running the real `akl` against the fake
//! Akeyless server over HTTPS, with a cleared environment.

#[path = "../fake/mod.rs"]
mod fake;
#[path = "../common/shells.rs"]
mod shells;
mod support;

mod auth;
mod compat;
mod container;
mod doctor;
mod env;
mod fake_server;
mod faults;
mod limits;
mod run;
mod runner;
mod sdk;
