//! The integration suite: the real `akl` against the fake Akeyless server over HTTPS, with
//! a cleared environment. Nothing here needs a daemon or a registry; the container and SDK
//! suites are their own targets (`make test` runs them all).

mod auth;
mod certs;
mod cloud;
mod compat;
mod doctor;
mod env;
mod faults;
mod hardening;
mod identities;
mod limits;
mod masking;
mod outputs;
mod run;
